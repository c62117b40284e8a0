// udp_ack_receiver: exercise 01.1 -- a receiver that answers every datagram with "ack N".
//
// UDP has no built-in acknowledgement: if the sender wants to know a datagram
// arrived, the receiver has to say so itself, by sending a datagram back to the
// address recvfrom() reported. This is udp_receiver plus that one reply.
//
//   udp_ack_receiver --port 8001        then: udp_sender hello   -> the sender gets "ack 5"
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
    course::cli::App app{
        "Print every UDP datagram and answer it with \"ack N\" (lesson 01, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8001;
    std::size_t bufsize = 1024;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--bufsize", bufsize, "Bytes offered to each recvfrom()")
        ->check(course::cli::Range(1, 65536))
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0

        const course::Endpoint local = course::resolve(host, port, SOCK_DGRAM, true).front();
        course::Fd sock(course::check(::socket(local.family, SOCK_DGRAM, 0), "socket"));
        course::check(::bind(sock.get(), local.addr(), local.length), "bind " + local.to_string());
        course::announce_bound(sock.get());

        std::vector<char> buffer(bufsize);
        for (;;) {  // until Ctrl-C: wait_readable() then throws course::StopRequested
            course::wait_readable(sock.get());  // a datagram is here (or Ctrl-C throws)

            sockaddr_storage sender{};
            socklen_t sender_length = sizeof sender;
            // MSG_TRUNC: the real length, even when the datagram did not fit.
            ssize_t length = ::recvfrom(sock.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                        reinterpret_cast<sockaddr*>(&sender), &sender_length);
            course::check(length, "recvfrom");
            const auto* from = reinterpret_cast<const sockaddr*>(&sender);

            const auto kept = std::min(static_cast<std::size_t>(length), buffer.size());
            std::cout << "from " << course::format_address(from, sender_length) << ": "
                      << course::escape_invalid_utf8({buffer.data(), kept}) << std::endl;

            // Exercise 01.1: answer the sender with the datagram "ack N", where N is
            // the number of bytes its datagram really had (length, not kept).
            // BEGIN SOLUTION 01.1
            // sender/sender_length is exactly where the reply must go: the
            // receiver never "connects", it just writes that address on the envelope.
            const std::string ack = "ack " + std::to_string(length);
            course::check(::sendto(sock.get(), ack.data(), ack.size(), 0, from, sender_length),
                          "sendto " + course::format_address(from, sender_length));
            // BEGIN STUB
            // static_cast<void>(from);  // unused until you write the reply
            // END STUB
            // END SOLUTION
        }
    });
}
