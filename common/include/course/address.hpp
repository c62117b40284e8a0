// Name resolution with getaddrinfo (IPv4 and IPv6) and printing addresses the
// course's way: "127.0.0.1:8080" for IPv4, "[::1]:8080" for IPv6.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace course {

// One address getaddrinfo found, copied out so it outlives freeaddrinfo().
struct Endpoint {
    int family = AF_UNSPEC;
    int socktype = 0;
    int protocol = 0;
    sockaddr_storage storage{};
    socklen_t length = 0;

    [[nodiscard]] const sockaddr* addr() const {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
    [[nodiscard]] std::string to_string() const;
};

// Resolves host:port for sockets of `socktype` (SOCK_STREAM or SOCK_DGRAM).
// `passive` is for servers: an empty host then means "every local address".
// Throws std::system_error("resolve HOST: <gai error>") when nothing is found.
std::vector<Endpoint> resolve(const std::string& host, std::uint16_t port, int socktype,
                              bool passive = false);

// "127.0.0.1:8080" or "[::1]:8080" (IPv4-mapped IPv6 stays "[::ffff:127.0.0.1]:8080").
// A Unix socket: "unix:/tmp/x.sock", or "unix:(unnamed)" for a client that did not bind.
std::string format_address(const sockaddr* address, socklen_t length);

// The address a socket is bound to (getsockname) and the one it talks to
// (getpeername; "(peer already gone)" if the peer reset the connection already).
std::string local_address(int fd);
std::string peer_address(int fd);
std::uint16_t local_port(int fd);

}  // namespace course
