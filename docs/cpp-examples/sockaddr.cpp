// sockaddr.cpp: socket addresses are C structs; the calls take them as a
// `sockaddr*` plus a length, so the code casts with reinterpret_cast.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror sockaddr.cpp -o sockaddr
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <string>

int main() {
    int sock = ::socket(AF_INET, SOCK_DGRAM, 0);

    // An IPv4 address: sockaddr_in. {} sets every field to zero first.
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(0);  // htons: to network byte order; 0 = any free port
    ::inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);

    // bind() accepts every family's address, so its parameter is the generic
    // `sockaddr*`: reinterpret_cast says "use this address as that type".
    if (::bind(sock, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) return 1;

    // Which port did the system pick? getsockname() writes it into `local`.
    socklen_t length = sizeof local;
    ::getsockname(sock, reinterpret_cast<sockaddr*>(&local), &length);

    // Send a datagram to ourselves.
    std::string message = "hello";
    ::sendto(sock, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&local),
             sizeof local);

    // recvfrom() does not know in advance whether the sender is IPv4 or IPv6.
    // sockaddr_storage is big enough for any family; ss_family says which.
    sockaddr_storage sender{};
    socklen_t sender_length = sizeof sender;
    char buffer[1024];
    ssize_t n = ::recvfrom(sock, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&sender),
                           &sender_length);
    if (n < 0) return 1;

    if (sender.ss_family == AF_INET) {
        auto* ipv4 = reinterpret_cast<sockaddr_in*>(&sender);
        char text[INET_ADDRSTRLEN];
        ::inet_ntop(AF_INET, &ipv4->sin_addr, text, sizeof text);
        std::cout << "got \"" << std::string(buffer, static_cast<std::size_t>(n)) << "\" from "
                  << text << ", from our own port: " << std::boolalpha
                  << (ntohs(ipv4->sin_port) == ntohs(local.sin_port)) << '\n';
    }
    ::close(sock);
    return 0;
}

// It prints:
// got "hello" from 127.0.0.1, from our own port: true
