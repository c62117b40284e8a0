// udp_sender: sends each message as one UDP datagram with sendto(). No connection, no reply.
//
//   udp_sender hello world          two datagrams, "hello" and "world"
//   echo hi | udp_sender            one datagram per stdin line
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Send each MESSAGE as one UDP datagram (lesson 01)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8001;
    std::vector<std::string> messages;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("messages", messages, "Messages to send (default: one per stdin line)");

    return course::run_main(app, argc, argv, [&] {
        if (messages.empty()) messages = course::read_all_messages();

        // getaddrinfo turns "127.0.0.1" or "::1" or "localhost" into a socket
        // address, and tells us which family (IPv4 or IPv6) the socket must be.
        const course::Endpoint receiver = course::resolve(host, port, SOCK_DGRAM).front();

        // SOCK_DGRAM = UDP. No connect(), no listen(): we just address every
        // datagram, like writing the address on each envelope.
        course::Fd sock(course::check(::socket(receiver.family, SOCK_DGRAM, 0), "socket"));

        for (const std::string& message : messages) {
            // One sendto() = one datagram. The bytes go as they are: a socket
            // carries bytes, not text (Python's .encode("utf-8") step).
            ssize_t sent = ::sendto(sock.get(), message.data(), message.size(), 0, receiver.addr(),
                                    receiver.length);
            course::check(sent, "sendto " + receiver.to_string());
            std::cout << "sent " << sent << " bytes to " << receiver.to_string() << '\n';
        }
        return 0;  // sock closes itself here (course::Fd): always close what you open
    });
}
