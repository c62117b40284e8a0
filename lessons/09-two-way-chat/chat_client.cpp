// chat_client: turn-based chat: send a line from the keyboard, wait for the answer, repeat.
//
// A line "q" ends the chat (the server gets it too); so does an empty line or
// the end of input. When the server says "q", closes, or vanishes, we say so
// and exit 0.
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/text.hpp"

namespace {

// The peer vanished (reset) or our write hit a closed connection.
bool peer_gone(const std::system_error& e) {
    const int code = e.code().value();
    return code == ECONNRESET || code == EPIPE || code == ECONNABORTED;
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Turn-based chat client (lesson 09)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8009;
    double timeout = 0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout,
                               "Give up waiting for connect or an answer after (0: no limit, a "
                               "person is typing it)");

    return course::run_main(app, argc, argv, [&] {
        const double wait = timeout > 0 ? timeout : course::forever;
        course::Fd sock = course::connect_tcp(host, port, wait);
        const std::string server = course::peer_address(sock.get());
        const bool interactive = ::isatty(STDIN_FILENO) != 0;
        std::cerr << "connected to " << server << "; type a message, q to quit\n";

        std::vector<char> buffer(4096);
        // --8<-- [start:turns]
        for (;;) {
            if (interactive) std::cerr << "you> " << std::flush;
            const std::optional<std::string> line = course::read_message();
            if (!line) {
                std::cerr << "end of input: leaving the chat\n";
                return 0;
            }
            try {
                course::send_all(sock.get(), *line);
                if (*line == "q") {
                    std::cerr << "you ended the chat\n";
                    return 0;
                }
                if (!course::wait_readable(sock.get(), wait)) {
                    std::cerr << "error: no answer from " << server << " within " << timeout
                              << " s\n";
                    return 1;
                }
                const std::size_t n = course::recv_some(sock.get(), buffer.data(), buffer.size());
                if (n == 0) {
                    std::cerr << "the server closed the connection\n";
                    return 0;
                }
                const std::string answer(buffer.data(), n);
                std::cout << course::escape_invalid_utf8(answer) << '\n';
                if (answer == "q") {
                    std::cerr << "the server ended the chat\n";
                    return 0;
                }
            } catch (const std::system_error& e) {
                if (!peer_gone(e)) throw;
                std::cerr << "the server vanished (" << e.code().message() << ")\n";
                return 0;
            }
        }
        // --8<-- [end:turns]
    });
}
