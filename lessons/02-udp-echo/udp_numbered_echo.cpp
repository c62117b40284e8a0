// udp_numbered_echo: exercise 02.1 -- an echo server that numbers its replies "#N payload".
//
// UDP keeps no order and no count for us: if a client wants to know which
// reply answers which request, or whether some went missing, the server has to
// say so itself. This server counts the datagrams it has answered (all clients
// together) and puts the number in front of every reply.
//
//   udp_numbered_echo --port 8002    then: udp_echo_client hi  -> "#1 hi", again -> "#2 hi"
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

// The reply to the `number`-th datagram, whose bytes are `payload`.
std::string numbered_reply(long number, const std::string& payload) {
    // Exercise 02.1: the reply is "#N " followed by the datagram's bytes, e.g. "#3 hello".
    // BEGIN SOLUTION 02.1
    // Text, not a binary counter: the client can print it as it is.
    return "#" + std::to_string(number) + " " + payload;
    // BEGIN STUB
    // static_cast<void>(number);  // unused until you write the reply
    // return payload;
    // END STUB
    // END SOLUTION
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Echo every UDP datagram back, numbered \"#N ...\" (lesson 02, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8002;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd sock = course::bind_udp(host, port);
        course::announce_bound(sock.get());

        std::vector<char> buffer(65536);  // holds any UDP datagram whole
        long answered = 0;                // datagrams answered so far, all clients together
        for (;;) {
            course::wait_readable(sock.get());  // a datagram is here (or Ctrl-C throws)
            sockaddr_storage sender{};
            socklen_t sender_length = sizeof sender;
            ssize_t length = ::recvfrom(sock.get(), buffer.data(), buffer.size(), 0,
                                        reinterpret_cast<sockaddr*>(&sender), &sender_length);
            if (length < 0) continue;  // nothing a client sends makes this fatal

            const std::string reply = numbered_reply(
                ++answered, std::string(buffer.data(), static_cast<std::size_t>(length)));
            if (::sendto(sock.get(), reply.data(), reply.size(), 0,
                         reinterpret_cast<sockaddr*>(&sender), sender_length) < 0)
                std::cerr << "sendto: " << std::system_category().message(errno) << '\n';
        }
    });
}
