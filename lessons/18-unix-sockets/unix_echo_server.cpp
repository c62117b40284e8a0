// unix_echo_server: lesson 04's echo server over a Unix stream socket: a path instead of HOST:PORT.
//
//   unix_echo_server --path /tmp/echo.sock --mode 0600
//
// Prints "listening on unix:/tmp/echo.sock" once ready. Clients are served one
// after another. The socket file is removed on a clean exit (Ctrl-C, SIGTERM).
#include <sys/socket.h>
#include <sys/un.h>

#include <iostream>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "unix_path.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Echo server on a Unix stream socket (lesson 18)."};
    std::string path = "/tmp/socket-lessons-18.sock";
    std::string mode_text = "0600";
    app.add_option("--path", path, "The socket file to listen on")->capture_default_str();
    app.add_option("--mode", mode_text, "Permissions of the socket file (octal)")
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        const mode_t mode = lesson18::parse_mode(mode_text);
        course::install_stop_handlers();

        // --8<-- [start:listen]
        // AF_UNIX instead of AF_INET: same socket(), bind(), listen(), accept(),
        // but the address is a path, and the bytes never touch the network stack.
        course::Fd listener(
            course::check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
        lesson18::clear_stale_socket(path, SOCK_STREAM);
        lesson18::bind_path(listener.get(), path, mode);
        const lesson18::SocketFile socket_file(path);  // unlinked when we leave, even on Ctrl-C
        course::check(::listen(listener.get(), 128), "listen");
        std::cout << "listening on unix:" << path << std::endl;
        // --8<-- [end:listen]

        std::vector<char> buffer(4096);
        for (long number = 1;; ++number) {
            course::Fd client = course::accept_client(listener.get());
            // A Unix stream client is usually unnamed: there is no "from" address
            // to print, so we number the clients instead.
            std::cerr << "client #" << number << " connected\n";
            try {
                while (const std::size_t n =
                           course::recv_some(client.get(), buffer.data(), buffer.size()))
                    course::send_all(client.get(), buffer.data(), n);
            } catch (const std::system_error& e) {
                std::cerr << "client #" << number << ": " << e.what() << '\n';
            }
            std::cerr << "client #" << number << " disconnected\n";
        }
    });
}
