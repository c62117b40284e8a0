// dual_stack_client: an echo client that says which IP version it used to connect.
//
//   dual_stack_client --host 127.0.0.1        IPv4
//   dual_stack_client --host ::1              IPv6
//   dual_stack_client --host localhost        whatever getaddrinfo offers first
//
// Sends each stdin line, prints each echoed reply on its own line.
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Echo client that reports IPv4 or IPv6 (lesson 20)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8020;
    double timeout = 5;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout, "Give up waiting for a reply after this");

    return course::run_main(app, argc, argv, [&]() -> int {
        // connect_tcp tries every address getaddrinfo returns, IPv6 and IPv4 alike.
        course::Fd sock = course::connect_tcp(host, port, timeout);
        sockaddr_storage local{};
        socklen_t length = sizeof local;
        course::check(::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&local), &length),
                      "getsockname");
        std::cerr << "connected over " << (local.ss_family == AF_INET6 ? "IPv6" : "IPv4")
                  << " from " << course::local_address(sock.get()) << " to "
                  << course::peer_address(sock.get()) << '\n';

        while (auto message = course::read_message()) {
            course::send_all(sock.get(), *message);
            // An echo comes back with as many bytes as we sent (maybe in pieces).
            std::string reply(message->size(), '\0');
            std::size_t got = 0;
            while (got < reply.size()) {
                if (!course::wait_readable(sock.get(), timeout)) {
                    std::cerr << "error: no reply within " << timeout << " s\n";
                    return 1;
                }
                const std::size_t n =
                    course::recv_some(sock.get(), reply.data() + got, reply.size() - got);
                if (n == 0) {
                    std::cerr << "server closed the connection\n";
                    return 0;
                }
                got += n;
            }
            std::cout << reply << '\n';
        }
        return 0;
    });
}
