// udp_receiver: binds a UDP port and prints every datagram that arrives, with its sender.
//
// Shows bind(), recvfrom() and what happens when a datagram is bigger than the
// buffer you offer: the rest is cut off and lost (UDP keeps message boundaries).
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Print every UDP datagram that arrives (lesson 01)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8001;
    std::size_t bufsize = 1024;
    long count = 0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--bufsize", bufsize, "Bytes offered to each recvfrom()")
        ->check(course::cli::Range(1, 65536))
        ->capture_default_str();
    app.add_option("--count", count, "Exit after this many datagrams (0: never)")
        ->check(course::cli::NonNegativeNumber);

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0

        // "" would mean every interface (0.0.0.0); 127.0.0.1 only accepts
        // datagrams sent from this machine. See the lesson page.
        const course::Endpoint local = course::resolve(host, port, SOCK_DGRAM, true).front();
        course::Fd sock(course::check(::socket(local.family, SOCK_DGRAM, 0), "socket"));
        course::check(::bind(sock.get(), local.addr(), local.length), "bind " + local.to_string());
        course::announce_bound(sock.get());  // "bound to 127.0.0.1:8001"

        std::vector<char> buffer(bufsize);
        for (long received = 0; count == 0 || received < count; ++received) {
            course::wait_readable(sock.get());  // returns when a datagram is here (or on Ctrl-C)

            sockaddr_storage sender{};
            socklen_t sender_length = sizeof sender;
            // MSG_TRUNC makes Linux return the datagram's real length even when
            // it did not fit, so we can say how much was lost.
            ssize_t length = ::recvfrom(sock.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                        reinterpret_cast<sockaddr*>(&sender), &sender_length);
            course::check(length, "recvfrom");

            const auto kept = std::min(static_cast<std::size_t>(length), buffer.size());
            std::cout << "from "
                      << course::format_address(reinterpret_cast<sockaddr*>(&sender), sender_length)
                      << ": " << course::escape_invalid_utf8({buffer.data(), kept});
            if (kept < static_cast<std::size_t>(length))
                std::cout << " (truncated from " << length << " bytes)";
            std::cout << '\n';
        }
        return 0;
    });
}
