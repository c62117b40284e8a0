// unix_dgram_server: datagrams over a Unix socket, echoed back to clients that bound a path.
//
//   unix_dgram_server --path /tmp/dgram.sock
//
// Prints "bound to unix:/tmp/dgram.sock" once ready, then one line per
// datagram on stdout: "from unix:/tmp/client.sock: TEXT".
#include <sys/socket.h>
#include <sys/un.h>

#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"
#include "unix_path.hpp"

namespace {

// --8<-- [start:sender]
// Who sent this datagram? A Unix sender that never bound has no name at all:
// recvfrom() reports an address with no path (just the family), and there is
// nowhere to send a reply. Linux may also give it an "abstract" name, shown
// with a leading '@' (it lives in no directory, starts with a '\0' byte).
std::string describe_sender(const sockaddr_un& sender, socklen_t length) {
    const auto header = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
    if (length <= header) return "";  // unnamed
    std::string name(sender.sun_path, length - header);
    if (name[0] == '\0') return "@" + course::escape_invalid_utf8(name.substr(1));
    return course::escape_invalid_utf8(name.substr(0, name.find('\0')));
}
// --8<-- [end:sender]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Echo every datagram on a Unix datagram socket back to its sender (lesson 18)."};
    std::string path = "/tmp/socket-lessons-18-dgram.sock";
    std::string mode_text = "0600";
    app.add_option("--path", path, "The socket file to bind")->capture_default_str();
    app.add_option("--mode", mode_text, "Permissions of the socket file (octal)")
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        const mode_t mode = lesson18::parse_mode(mode_text);
        course::install_stop_handlers();

        course::Fd sock(course::check(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"));
        lesson18::clear_stale_socket(path, SOCK_DGRAM);
        lesson18::bind_path(sock.get(), path, mode);
        const lesson18::SocketFile socket_file(path);
        std::cout << "bound to unix:" << path << std::endl;

        std::vector<char> buffer(65536);
        for (;;) {
            course::wait_readable(sock.get());  // returns when a datagram is here (or on Ctrl-C)

            // --8<-- [start:reply]
            sockaddr_un sender{};
            socklen_t sender_length = sizeof sender;
            const ssize_t n = ::recvfrom(sock.get(), buffer.data(), buffer.size(), 0,
                                         reinterpret_cast<sockaddr*>(&sender), &sender_length);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            course::check(n, "recvfrom");
            const std::string text =
                course::escape_invalid_utf8({buffer.data(), static_cast<std::size_t>(n)});
            const std::string from = describe_sender(sender, sender_length);

            if (from.empty()) {
                std::cout << "from an unbound socket: " << text << '\n';
                std::cerr << "cannot reply: the sender did not bind a path, so it has no "
                             "address to send to\n";
                continue;
            }
            std::cout << "from unix:" << from << ": " << text << '\n';
            // Reply to exactly the address recvfrom() gave us, like UDP.
            if (::sendto(sock.get(), buffer.data(), static_cast<std::size_t>(n), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&sender), sender_length) < 0)
                std::cerr << "reply to unix:" << from << ": "
                          << std::system_category().message(errno) << '\n';
            // --8<-- [end:reply]
        }
    });
}
