// broadcast_listener: hears UDP broadcasts, and says whether each datagram was one.
//
//   broadcast_listener --host 0.0.0.0            every datagram to port 8021, broadcasts included
//   broadcast_listener --host 10.200.1.255       only broadcasts to that subnet
//   broadcast_listener                           127.0.0.1 (the safe default): hears no broadcast!
//
// Prints "from HOST:PORT to DEST: TEXT" for each datagram, where DEST is the
// address the sender wrote on it (IP_PKTINFO tells us): a broadcast address or ours.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
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
    course::cli::App app{"Print every UDP datagram that arrives, broadcasts included (lesson 21)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8021;
    long count = 0;
    course::add_host_option(app, host)->description(
        "Address to bind: 0.0.0.0 hears broadcasts and unicast, a broadcast address "
        "(10.200.1.255) only broadcasts, 127.0.0.1 (default) no broadcast at all");
    course::add_port_option(app, port);
    app.add_option("--count", count, "Exit after this many datagrams (0: never)")
        ->check(course::cli::NonNegativeNumber);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        const course::Endpoint local = course::resolve(host, port, SOCK_DGRAM, true).front();
        if (local.family != AF_INET)
            throw course::UsageError("--host " + host + ": broadcast is IPv4 only");
        course::Fd sock(course::check(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"));

        // --8<-- [start:bind]
        // SO_REUSEADDR lets several listeners on one machine bind the same port;
        // each of them gets its own copy of every broadcast.
        const int on = 1;
        course::check(::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt SO_REUSEADDR");
        // IP_PKTINFO: hand us, with each datagram, the destination address it carried.
        course::check(::setsockopt(sock.get(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on),
                      "setsockopt IP_PKTINFO");
        // A socket hears a datagram only if the datagram's destination matches
        // the bound address: 0.0.0.0 matches everything, 10.200.1.255 matches
        // broadcasts to that subnet, 10.200.1.2 or 127.0.0.1 never a broadcast.
        course::check(::bind(sock.get(), local.addr(), local.length), "bind " + local.to_string());
        // --8<-- [end:bind]
        course::announce_bound(sock.get());

        std::vector<char> buffer(65536);
        for (long received = 0; count == 0 || received < count; ++received) {
            course::wait_readable(sock.get());  // a datagram is here (or Ctrl-C)

            // --8<-- [start:recvmsg]
            // recvmsg() is recvfrom() plus "ancillary data": extra facts about the
            // datagram, here an in_pktinfo with its destination address.
            sockaddr_in sender{};
            iovec data{buffer.data(), buffer.size()};
            alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in_pktinfo))> control{};
            msghdr message{};
            message.msg_name = &sender;
            message.msg_namelen = sizeof sender;
            message.msg_iov = &data;
            message.msg_iovlen = 1;
            message.msg_control = control.data();
            message.msg_controllen = control.size();
            const ssize_t length = course::check(::recvmsg(sock.get(), &message, 0), "recvmsg");

            std::string destination = "?";
            for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
                if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                    in_pktinfo info{};
                    std::memcpy(&info, CMSG_DATA(c), sizeof info);  // CMSG_DATA may be unaligned
                    std::array<char, INET_ADDRSTRLEN> text{};
                    ::inet_ntop(AF_INET, &info.ipi_addr, text.data(), text.size());
                    destination = text.data();
                }
            }
            // --8<-- [end:recvmsg]
            // One datagram, one line: newlines inside it are shown as \n and \r.
            std::string text =
                course::escape_invalid_utf8({buffer.data(), static_cast<std::size_t>(length)});
            for (std::size_t at = 0; (at = text.find_first_of("\r\n", at)) != std::string::npos;
                 at += 2)
                text.replace(at, 1, text[at] == '\n' ? "\\n" : "\\r");
            std::cout << "from "
                      << course::format_address(reinterpret_cast<sockaddr*>(&sender),
                                                message.msg_namelen)
                      << " to " << destination << ": " << text << '\n';
        }
        return 0;
    });
}
