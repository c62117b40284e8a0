// stamped_chat_client: exercise 09.1 -- lesson 09's chat client, with the time before each answer.
//
// A chat log without times is hard to read later. This client talks to
// chat_server turn by turn, like chat_client (send a stdin line, print the
// answer, and so on; "q" from either side ends the chat), and prints every
// answer as "[HH:MM:SS] TEXT", in local time.
//
//   stamped_chat_client --port 8009    (type a line, wait for the answer, ...)
#include <sys/socket.h>

#include <ctime>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

// `text` as the client prints it, with the local time `when` in front: "[14:03:59] hi".
std::string stamp(std::string_view text, std::time_t when) {
    // Exercise 09.1: put "[HH:MM:SS] " (local time, two digits each) in front of text.
    // BEGIN SOLUTION 09.1
    // localtime_r, not localtime: it fills OUR struct instead of a shared
    // static one (safe with threads). strftime formats it without guesswork.
    std::tm parts{};  // hours, minutes, seconds, ... in this machine's time zone
    ::localtime_r(&when, &parts);
    char clock[16];
    const std::size_t length = std::strftime(clock, sizeof clock, "[%H:%M:%S] ", &parts);
    return std::string(clock, length) + std::string(text);
    // BEGIN STUB
    // static_cast<void>(when);  // unused until you write the stamp
    // return std::string(text);
    // END STUB
    // END SOLUTION
}

int main(int argc, char** argv) {
    course::cli::App app{"Turn-based chat, every answer time-stamped (lesson 09, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8009;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd sock = course::connect_tcp(host, port, 5.0);
        std::vector<char> buffer(4096);
        while (auto line = course::read_message()) {  // ends at EOF or an empty line
            course::send_all(sock.get(), *line);
            if (*line == "q") {
                std::cerr << "you ended the chat\n";
                return 0;
            }
            const std::size_t n = course::recv_some(sock.get(), buffer.data(), buffer.size());
            if (n == 0) {
                std::cerr << "the server closed the connection\n";
                return 0;
            }
            const std::string answer(buffer.data(), n);
            std::cout << stamp(course::escape_invalid_utf8(answer), std::time(nullptr))
                      << std::endl;
            if (answer == "q") {
                std::cerr << "the server ended the chat\n";
                return 0;
            }
        }
        return 0;
    });
}
