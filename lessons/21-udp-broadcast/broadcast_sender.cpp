// broadcast_sender: sends UDP datagrams to a broadcast address, which needs SO_BROADCAST.
//
//   broadcast_sender --host 192.168.1.255 hello     everyone on 192.168.1.0/24, port 8021
//   broadcast_sender --host 255.255.255.255 hello   everyone on the local link
//   broadcast_sender --no-broadcast --host ...      see the kernel refuse (EACCES)
//
// Without --host it sends to 127.0.0.1 (the course's safe default): plain
// unicast. A broadcast reaches every machine on your network, so choose it
// deliberately; the tests only ever broadcast inside private network namespaces.
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
    course::cli::App app{
        "Send each MESSAGE as one UDP datagram to a broadcast address (lesson 21)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8021;
    bool no_broadcast = false;
    std::vector<std::string> messages;
    course::add_host_option(app, host)->description(
        "Where to send: a subnet's broadcast address (10.200.1.255), 255.255.255.255, "
        "or any unicast address");
    course::add_port_option(app, port);
    app.add_flag("--no-broadcast", no_broadcast,
                 "Do not set SO_BROADCAST (to see the kernel refuse a broadcast)");
    app.add_option("messages", messages, "Messages to send (default: one per stdin line)");

    return course::run_main(app, argc, argv, [&]() -> int {
        if (messages.empty()) messages = course::read_all_messages();

        const course::Endpoint target = course::resolve(host, port, SOCK_DGRAM).front();
        if (target.family != AF_INET)
            throw course::UsageError("--host " + host +
                                     ": broadcast is IPv4 only (IPv6 has multicast instead)");
        course::Fd sock(course::check(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"));

        // --8<-- [start:broadcast]
        // The safety catch: without SO_BROADCAST the kernel refuses to send to a
        // broadcast address (EACCES, "Permission denied"), so that a program
        // cannot flood the network by mistake with a wrong address.
        if (!no_broadcast) {
            const int on = 1;
            course::check(::setsockopt(sock.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on),
                          "setsockopt SO_BROADCAST");
        }
        // --8<-- [end:broadcast]

        for (const std::string& message : messages) {
            const ssize_t sent = ::sendto(sock.get(), message.data(), message.size(), 0,
                                          target.addr(), target.length);
            if (sent < 0 && errno == EACCES)
                std::cerr << "hint: " << target.to_string()
                          << " is a broadcast address: set SO_BROADCAST first "
                             "(drop --no-broadcast)\n";
            course::check(sent, "sendto " + target.to_string());
            std::cout << "sent " << sent << " bytes to " << target.to_string() << '\n';
        }
        return 0;
    });
}
