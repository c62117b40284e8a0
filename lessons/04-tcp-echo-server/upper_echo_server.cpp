// upper_echo_server: exercise 04.1 -- lesson 04's echo server, but it answers in CAPITALS.
//
// The seeds' first server changes the data before sending it back: that is
// all "processing a request" means. Between recv() and send() the bytes are
// ours to change; here the 26 ASCII letters become capitals.
//
//   upper_echo_server --port 8004    then: echo hello | tcp_client  -> HELLO
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

// Changes the first `length` bytes of `bytes` in place before they are echoed.
void shout(std::vector<char>& bytes, std::size_t length) {
    // Exercise 04.1: turn a-z into A-Z; leave every other byte (digits, UTF-8
    // bytes of Chinese characters, ...) exactly as it is.
    // BEGIN SOLUTION 04.1
    // Not std::toupper: its result depends on the locale, and it must never
    // see a negative char (a UTF-8 byte >= 0x80 is negative in a char).
    for (std::size_t at = 0; at < length; ++at) {
        const char c = bytes[at];
        if ('a' <= c && c <= 'z') bytes[at] = static_cast<char>(c - ('a' - 'A'));
    }
    // BEGIN STUB
    // static_cast<void>(bytes);  // unused until you write the loop
    // static_cast<void>(length);
    // END STUB
    // END SOLUTION
}

// Echoes one client, in capitals, until it hangs up.
void serve(int client) {
    std::vector<char> buffer(4096);
    for (;;) {
        const std::size_t n = course::recv_some(client, buffer.data(), buffer.size());
        if (n == 0) return;  // the client closed its end
        shout(buffer, n);
        course::send_all(client, buffer.data(), n);
    }
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Echo every byte back, ASCII letters upper-cased (lesson 04, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8004;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        for (;;) {  // one client after another
            course::Fd client = course::accept_client(listener.get());
            try {
                serve(client.get());
            } catch (const std::system_error& e) {
                std::cerr << "client dropped: " << e.what() << '\n';
            }
        }
    });
}
