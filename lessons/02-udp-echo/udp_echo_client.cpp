// udp_echo_client: sends each stdin line as one UDP datagram and prints the reply, if one comes.
//
// UDP promises nothing: a datagram, or its reply, may simply be lost. So the
// client never waits forever: after --timeout seconds it says "no reply" (on
// stderr) and goes on with the next line.
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
#include "course/text.hpp"

int main(int argc, char** argv) {
    course::cli::App app{
        "Send each stdin line to a UDP echo server and print its reply (lesson 02)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8002;
    double timeout = 2.0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout, "How long to wait for each reply");

    return course::run_main(app, argc, argv, [&] {
        const course::Endpoint server = course::resolve(host, port, SOCK_DGRAM).front();
        const std::string server_name = server.to_string();
        course::Fd sock(course::check(::socket(server.family, SOCK_DGRAM, 0), "socket"));

        std::vector<char> reply(65536);  // room for the largest datagram
        // One message per line; input ends at EOF or at an empty line.
        while (auto message = course::read_message()) {
            // --8<-- [start:exchange]
            const ssize_t sent = ::sendto(sock.get(), message->data(), message->size(), 0,
                                          server.addr(), server.length);
            course::check(sent, "sendto " + server_name);

            // Wait for the reply, but not forever. Anyone may send us a
            // datagram, so a reply that is not from the server is ignored.
            bool answered = false;
            while (!answered && course::wait_readable(sock.get(), timeout)) {
                sockaddr_storage sender{};
                socklen_t sender_length = sizeof sender;
                ssize_t length = ::recvfrom(sock.get(), reply.data(), reply.size(), 0,
                                            reinterpret_cast<sockaddr*>(&sender), &sender_length);
                course::check(length, "recvfrom");
                if (course::format_address(reinterpret_cast<sockaddr*>(&sender), sender_length) !=
                    server_name)
                    continue;
                // Bytes in, text out: show invalid UTF-8 as \xNN escapes.
                std::cout << course::escape_invalid_utf8(
                                 {reply.data(), static_cast<std::size_t>(length)})
                          << '\n';
                answered = true;
            }
            if (!answered) std::cerr << "no reply from " << server_name << '\n';
            // --8<-- [end:exchange]
        }
        return 0;
    });
}
