// slow_echo_server: an echo server that takes its time, so that a client's timeouts get tested.
//
//   slow_echo_server --delay 2            answers every message after 2 s
//   slow_echo_server --close-after 1      answers one message, then hangs up
//
// Clients are served one after another, as in lesson 04.
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Echo every message back after --delay seconds (lesson 16)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8016;
    double delay = 0.0;
    long close_after = 0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--delay", delay, "Wait this long before each reply");
    app.add_option("--close-after", close_after,
                   "Close each connection after this many replies (0: never)")
        ->check(course::cli::NonNegativeNumber);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());

        std::vector<char> buffer(4096);
        for (;;) {
            course::Fd client = course::accept_client(listener.get());
            const std::string peer = course::peer_address(client.get());
            std::cerr << "connected: " << peer << '\n';
            try {
                for (long replies = 0; close_after == 0 || replies < close_after; ++replies) {
                    const std::size_t n =
                        course::recv_some(client.get(), buffer.data(), buffer.size());
                    if (n == 0) break;
                    // A sleep that Ctrl-C can cut short: wait for the stop pipe
                    // to become readable, for at most `delay` seconds.
                    if (delay > 0) course::wait_readable(course::stop_fd(), delay);
                    course::send_all(client.get(), buffer.data(), n);
                }
            } catch (const std::system_error& e) {
                std::cerr << peer << ": " << e.what() << '\n';  // costs the client, not the server
            }
            std::cerr << "disconnected: " << peer << '\n';
        }
    });
}
