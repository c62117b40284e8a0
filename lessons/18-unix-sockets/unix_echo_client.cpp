// unix_echo_client: connect to a Unix stream socket by path, send stdin lines, print the replies.
//
//   printf 'hello\n' | unix_echo_client --path /tmp/echo.sock
#include <sys/socket.h>
#include <sys/un.h>

#include <iostream>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/text.hpp"
#include "unix_path.hpp"

int main(int argc, char** argv) {
    course::cli::App app{
        "Send each stdin line to a Unix stream socket and print the reply (lesson 18)."};
    std::string path = "/tmp/socket-lessons-18.sock";
    double timeout = 5.0;
    app.add_option("--path", path, "The server's socket file")->capture_default_str();
    course::add_seconds_option(app, "--timeout", timeout, "Longest wait for each reply");

    return course::run_main(app, argc, argv, [&] {
        const lesson18::UnixAddress server = lesson18::unix_address(path);
        course::Fd sock(course::check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
        // No file there: ENOENT. A file but nobody listening: ECONNREFUSED.
        // Not allowed to write to the file: EACCES (see --mode on the server).
        course::check(::connect(sock.get(), server.get(), server.length), "connect to " + path);

        std::vector<char> buffer(4096);
        while (auto message = course::read_message()) {
            course::send_all(sock.get(), *message);
            if (!course::wait_readable(sock.get(), timeout)) {
                std::cerr << "error: no reply within " << timeout << " s\n";
                return 1;
            }
            const std::size_t n = course::recv_some(sock.get(), buffer.data(), buffer.size());
            if (n == 0) {
                std::cerr << "server closed the connection\n";
                return 0;
            }
            std::cout << course::escape_invalid_utf8({buffer.data(), n}) << '\n';
        }
        return 0;
    });
}
