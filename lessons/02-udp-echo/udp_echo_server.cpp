// udp_echo_server: answers every UDP datagram with the same bytes, ASCII letters upper-cased.
//
// The server half of the seeds' UDP example: recvfrom() tells us who sent the
// datagram, and sendto() that very address is how we reply. There is no
// connection: one socket serves everybody, one datagram at a time, forever.
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

// --8<-- [start:upper]
// Only the 26 ASCII letters change. Every other byte (digits, punctuation, and
// all bytes of a UTF-8 character such as 你, which are >= 0x80) goes back as is,
// so the reply is still valid UTF-8 whenever the request was.
void ascii_upper(std::vector<char>& bytes, std::size_t length) {
    for (std::size_t i = 0; i < length; ++i) {
        if (bytes[i] >= 'a' && bytes[i] <= 'z') bytes[i] = static_cast<char>(bytes[i] - 'a' + 'A');
    }
}
// --8<-- [end:upper]

int main(int argc, char** argv) {
    course::cli::App app{"Reply to every UDP datagram with its bytes upper-cased (lesson 02)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8002;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0

        // --8<-- [start:bind]
        // A server must bind() a known port: that is how clients find it.
        const course::Endpoint local = course::resolve(host, port, SOCK_DGRAM, true).front();
        course::Fd sock(course::check(::socket(local.family, SOCK_DGRAM, 0), "socket"));
        course::check(::bind(sock.get(), local.addr(), local.length), "bind " + local.to_string());
        course::announce_bound(sock.get());  // "bound to 127.0.0.1:8002"
        // --8<-- [end:bind]

        // The largest UDP payload is 65507 bytes over IPv4 (65535 minus the IP
        // and UDP headers); a buffer of 65536 holds any datagram whole.
        std::vector<char> buffer(65536);
        for (;;) {
            // --8<-- [start:loop]
            course::wait_readable(sock.get());  // sleeps until a datagram arrives (or Ctrl-C)

            sockaddr_storage sender{};
            socklen_t sender_length = sizeof sender;
            ssize_t length = ::recvfrom(sock.get(), buffer.data(), buffer.size(), 0,
                                        reinterpret_cast<sockaddr*>(&sender), &sender_length);
            if (length < 0) {
                // Nothing a client sends can make recvfrom() fail for good; log and go on.
                std::cerr << "recvfrom: " << std::system_category().message(errno) << '\n';
                continue;
            }
            const std::string who =
                course::format_address(reinterpret_cast<sockaddr*>(&sender), sender_length);

            ascii_upper(buffer, static_cast<std::size_t>(length));

            // Reply to the address recvfrom() gave us. An empty datagram (0
            // bytes) is a real datagram too, and gets an empty reply.
            ssize_t sent = ::sendto(sock.get(), buffer.data(), static_cast<std::size_t>(length), 0,
                                    reinterpret_cast<sockaddr*>(&sender), sender_length);
            if (sent < 0) {
                // One client we cannot answer must not stop the others.
                std::cerr << "sendto " << who << ": " << std::system_category().message(errno)
                          << '\n';
                continue;
            }
            std::cerr << "echoed " << sent << " bytes to " << who << '\n';
            // --8<-- [end:loop]
        }
    });
}
