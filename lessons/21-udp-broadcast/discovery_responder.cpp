// discovery_responder: exercise 21.1 -- "who is out there?": answer a broadcast question, unicast.
//
// The classic use of broadcast is discovery: a client that knows no address
// yet broadcasts DISCOVER to a port, and every server on the LAN that listens
// there answers with its name. The answer is NOT a broadcast: recvfrom() told
// the server who asked, so it replies to that one address (and needs no
// SO_BROADCAST for it). The client then knows everyone's address from the
// replies. DHCP, printers and game lobbies work this way.
//
//   discovery_responder --host 0.0.0.0 --name kitchen    hears broadcasts to port 8021
//   discovery_responder --name kitchen                    127.0.0.1 only: try it with
//       socat - UDP:127.0.0.1:8021   and type DISCOVER (socat adds a newline: use printf)
//
// Answers the datagram "DISCOVER" (exactly those 8 bytes) with "HERE <name>";
// anything else is ignored, with a line on stderr.
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

// This machine's name, the default --name.
std::string host_name() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) < 0) return "unknown";
    return name.data();
}

// Handles one datagram `question` that came from `sender` on `sock`.
void respond(int sock, std::string_view question, const sockaddr* sender, socklen_t sender_length,
             const std::string& name) {
    const std::string from = course::format_address(sender, sender_length);
    // Exercise 21.1: if `question` is exactly "DISCOVER", send the datagram
    // "HERE <name>" back to `sender` (sendto with sender and sender_length: a
    // unicast reply), and log "answered FROM" on stderr; log a failed sendto too,
    // without stopping. Anything else: send nothing, log "ignored N bytes from FROM".
    // BEGIN SOLUTION 21.1
    if (question != "DISCOVER") {
        std::cerr << "ignored " << question.size() << " bytes from " << from << " (not DISCOVER)\n";
        return;
    }
    const std::string answer = "HERE " + name;
    if (::sendto(sock, answer.data(), answer.size(), 0, sender, sender_length) < 0) {
        std::cerr << "reply to " << from << ": " << std::system_category().message(errno) << '\n';
        return;
    }
    std::cerr << "answered " << from << '\n';
    // BEGIN STUB
    // static_cast<void>(sock);  // unused until you write it
    // static_cast<void>(name);
    // std::cerr << "received " << question.size() << " bytes from " << from << " (no reply yet)\n";
    // END STUB
    // END SOLUTION
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Answer a UDP DISCOVER, broadcast or not, with HERE <name> (lesson 21, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8021;
    std::string name = host_name();
    course::add_host_option(app, host)->description(
        "Address to bind: 0.0.0.0 hears broadcasts, 127.0.0.1 (default) only this machine");
    course::add_port_option(app, port);
    app.add_option("--name", name, "The name to answer with (default: the host name)")
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        // A plain UDP socket: receiving a broadcast needs no option at all, only
        // a bound address that matches it (0.0.0.0 matches every destination).
        course::Fd sock = course::bind_udp(host, port);
        course::announce_bound(sock.get());

        std::vector<char> buffer(65536);  // holds any UDP datagram whole
        for (;;) {
            course::wait_readable(sock.get());  // a datagram is here (or Ctrl-C throws)
            sockaddr_storage sender{};
            socklen_t sender_length = sizeof sender;
            const ssize_t length = ::recvfrom(sock.get(), buffer.data(), buffer.size(), 0,
                                              reinterpret_cast<sockaddr*>(&sender), &sender_length);
            if (length < 0) continue;  // nothing a sender does makes this fatal
            respond(sock.get(), {buffer.data(), static_cast<std::size_t>(length)},
                    reinterpret_cast<const sockaddr*>(&sender), sender_length, name);
        }
    });
}
