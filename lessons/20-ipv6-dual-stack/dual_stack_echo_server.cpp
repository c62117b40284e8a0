// dual_stack_echo_server: ONE IPv6 socket that also accepts IPv4 clients (IPV6_V6ONLY off).
//
//   dual_stack_echo_server                  [::1]:8020, IPv6 loopback only (the safe default)
//   dual_stack_echo_server --host ::        every interface, IPv6 AND IPv4 clients
//   dual_stack_echo_server --host :: --v6only   every interface, IPv6 clients only
//
// An IPv4 client of a dual-stack socket shows up with a "v4-mapped" IPv6 address:
// 127.0.0.1 becomes ::ffff:127.0.0.1. Clients are served one after another, and
// every byte is echoed back unchanged, as in lesson 04.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <iostream>
#include <string>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

namespace {

// --8<-- [start:family]
// What kind of client is this? An AF_INET6 address in ::ffff:0:0/96 is an IPv4
// client that the kernel dressed up as IPv6 for our dual-stack socket.
std::string describe_client(const sockaddr_storage& peer) {
    if (peer.ss_family == AF_INET) return "IPv4";
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(peer);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
        // The last 4 of the 16 bytes are the IPv4 address itself.
        std::array<char, INET_ADDRSTRLEN> v4{};
        ::inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], v4.data(), v4.size());
        return "IPv4 client " + std::string(v4.data()) + ", seen as a v4-mapped IPv6 address";
    }
    return "IPv6";
}
// --8<-- [end:family]

// Who can reach this socket. IPV6_V6ONLY off lets IPv4 clients in only through
// an address that covers IPv4: the wildcard :: (every IPv4 address too) or a
// v4-mapped one (::ffff:127.0.0.1). ::1 is an IPv6 address and nothing else, so
// an IPv4 client (dual_stack_client's default 127.0.0.1) is refused there.
std::string who_can_connect(const course::Endpoint& local, const std::string& host, bool v6only) {
    if (v6only) return "IPV6_V6ONLY is on: IPv6 clients only";
    const in6_addr& address = reinterpret_cast<const sockaddr_in6*>(local.addr())->sin6_addr;
    if (IN6_IS_ADDR_UNSPECIFIED(&address)) return "IPV6_V6ONLY is off: IPv4 clients welcome too";
    if (IN6_IS_ADDR_V4MAPPED(&address))
        return "IPV6_V6ONLY is off: IPv4 clients of this mapped address only";
    return "IPV6_V6ONLY is off, but " + host + " is an IPv6 address: clients connect with --host " +
           host + " (IPv4 clients are refused; --host :: takes both)";
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Echo server on one IPv6 socket that IPv4 clients can reach too (lesson 20)."};
    std::string host = "::1";
    std::uint16_t port = 8020;
    bool v6only = false;
    course::add_host_option(app, host)->description(
        "Address to listen on (default ::1, IPv6 loopback only; use :: for every interface "
        "and both IPv4 and IPv6)");
    course::add_port_option(app, port);
    app.add_flag("--v6only", v6only, "Set IPV6_V6ONLY: refuse IPv4 clients on an IPv6 socket");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();

        // --8<-- [start:listen]
        const course::Endpoint local = course::resolve(host, port, SOCK_STREAM, true).front();
        course::Fd listener(
            course::check(::socket(local.family, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
        if (local.family == AF_INET6) {
            // The whole lesson in one call. 0: this IPv6 socket takes IPv4
            // connections too. 1: IPv6 only. Set it BEFORE bind(); the default
            // comes from /proc/sys/net/ipv6/bindv6only (0 on Linux, but do not rely on it).
            const int only = v6only ? 1 : 0;
            course::check(
                ::setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only),
                "setsockopt IPV6_V6ONLY");
        }
        const int on = 1;
        course::check(::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt SO_REUSEADDR");
        course::check(::bind(listener.get(), local.addr(), local.length),
                      "bind " + local.to_string());
        course::check(::listen(listener.get(), 16), "listen");
        // --8<-- [end:listen]
        course::announce_listening(listener.get());
        if (local.family == AF_INET6) std::cerr << who_can_connect(local, host, v6only) << '\n';

        std::array<char, 4096> buffer{};
        for (;;) {
            course::Fd client = course::accept_client(listener.get());
            std::string who = "a client";
            try {
                // getpeername() can fail too: a client that reset before we got here is gone.
                sockaddr_storage peer{};
                socklen_t peer_length = sizeof peer;
                course::check(
                    ::getpeername(client.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length),
                    "getpeername");
                who = course::format_address(reinterpret_cast<const sockaddr*>(&peer), peer_length);
                std::cerr << "connected: " << who << " (" << describe_client(peer) << ")\n";

                // Echo until the client closes, exactly as in lesson 04.
                while (std::size_t n =
                           course::recv_some(client.get(), buffer.data(), buffer.size()))
                    course::send_all(client.get(), buffer.data(), n);
                std::cerr << "disconnected: " << who << '\n';
            } catch (const std::system_error& e) {  // a reset costs the client, not the server
                std::cerr << "connection error: " << who << ": " << e.what() << '\n';
            }
        }
    });
}
