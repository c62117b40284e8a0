// unix_dgram_client: datagrams to a Unix datagram socket; we bind a path, or no reply could come.
//
//   printf 'hi\n' | unix_dgram_client --path /tmp/dgram.sock              binds a temporary path
//   printf 'hi\n' | unix_dgram_client --path /tmp/dgram.sock --no-bind    no reply (timeout, exit
//   1)
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"
#include "unix_path.hpp"

int main(int argc, char** argv) {
    course::cli::App app{
        "Send each stdin line as a datagram to a Unix socket, print the reply (lesson 18)."};
    std::string path = "/tmp/socket-lessons-18-dgram.sock";
    std::string own_path;
    bool no_bind = false;
    double timeout = 2.0;
    app.add_option("--path", path, "The server's socket file")->capture_default_str();
    auto* bind_option = app.add_option(
        "--bind", own_path, "Our own socket file, where replies come (default: a temporary one)");
    app.add_flag("--no-bind", no_bind, "Do not bind: the server cannot reply (for the lesson)")
        ->excludes(bind_option);
    course::add_seconds_option(app, "--timeout", timeout, "Longest wait for each reply");

    return course::run_main(app, argc, argv, [&] {
        // Ctrl-C while waiting unwinds normally, so our socket file gets removed.
        course::install_stop_handlers();
        const lesson18::UnixAddress server = lesson18::unix_address(path);
        course::Fd sock(course::check(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"));

        // --8<-- [start:bind]
        // UDP gives an unbound sender a port on its first sendto(); a Unix
        // datagram socket gets no name at all. To be answered, bind a path.
        std::unique_ptr<lesson18::SocketFile> own_file;
        if (!no_bind) {
            if (own_path.empty())
                own_path = "/tmp/unix_dgram_client." + std::to_string(::getpid()) + ".sock";
            lesson18::clear_stale_socket(own_path, SOCK_DGRAM);
            lesson18::bind_path(sock.get(), own_path, 0600);
            own_file = std::make_unique<lesson18::SocketFile>(own_path);  // removed at exit
        }
        // --8<-- [end:bind]

        std::vector<char> buffer(65536);
        while (auto message = course::read_message()) {
            const ssize_t sent = ::sendto(sock.get(), message->data(), message->size(), 0,
                                          server.get(), server.length);
            course::check(sent, "sendto " + path);
            if (!course::wait_readable(sock.get(), timeout)) {
                std::cerr << "error: no reply within " << timeout << " s"
                          << (no_bind ? " (this socket has no path, so the server had no address "
                                        "to reply to; drop --no-bind)"
                                      : "")
                          << '\n';
                return 1;
            }
            const ssize_t n = ::recv(sock.get(), buffer.data(), buffer.size(), 0);
            course::check(n, "recv");
            std::cout << course::escape_invalid_utf8({buffer.data(), static_cast<std::size_t>(n)})
                      << '\n';
        }
        return 0;
    });
}
