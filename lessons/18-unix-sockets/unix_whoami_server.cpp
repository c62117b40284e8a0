// unix_whoami_server: exercise 18.1 -- a Unix socket tells the server WHO connected (SO_PEERCRED).
//
// A TCP server knows only its client's address, and an address proves little.
// On a Unix socket both ends are on the same machine, and the kernel itself
// can say which process connected: its process id, user id and group id, as
// they were when it called connect(). A client cannot fake them (unlike a user
// name it would send), which is how local daemons decide who may do what
// (PostgreSQL's "peer" login, D-Bus, systemd).
//
// This server answers every client with one line, "pid P uid U gid G", then
// closes the connection. Clients are served one after another.
//
//   unix_whoami_server --path /tmp/whoami.sock --mode 0666
//   then:  socat - UNIX-CONNECT:/tmp/whoami.sock      -> pid 4242 uid 1000 gid 1000
//
// Prints "listening on unix:PATH" once ready; the socket file is removed on a
// clean exit (Ctrl-C, SIGTERM), and a stale one is cleared as in unix_echo_server.
#include <sys/socket.h>
#include <sys/un.h>

#include <iostream>
#include <string>
#include <system_error>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "unix_path.hpp"

// The line a client gets: "pid P uid U gid G\n", the kernel's record of the
// process at the other end of the connected socket `client`.
std::string whoami_line(int client) {
    // Exercise 18.1: ask the kernel who is connected. getsockopt() at level
    // SOL_SOCKET with the option SO_PEERCRED fills a `ucred` struct
    // {pid, uid, gid}; turn its three numbers into the line.
    // BEGIN SOLUTION 18.1
    ucred peer{};  // struct ucred, from <sys/socket.h> (g++ defines _GNU_SOURCE for us)
    socklen_t size = sizeof peer;  // in: the room we have; out: what the kernel wrote
    course::check(::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &size),
                  "getsockopt SO_PEERCRED");
    return "pid " + std::to_string(peer.pid) + " uid " + std::to_string(peer.uid) + " gid " +
           std::to_string(peer.gid) + "\n";
    // BEGIN STUB
    // static_cast<void>(client);  // unused until you write it
    // return "pid ? uid ? gid ?\n";
    // END STUB
    // END SOLUTION
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Tell every Unix socket client its own pid, uid and gid (lesson 18, exercise 1)."};
    std::string path = "/tmp/socket-lessons-18-whoami.sock";
    std::string mode_text = "0600";
    app.add_option("--path", path, "The socket file to listen on")->capture_default_str();
    app.add_option("--mode", mode_text,
                   "Permissions of the socket file (octal; 0666 lets every user connect)")
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        const mode_t mode = lesson18::parse_mode(mode_text);
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0

        // The same set-up as unix_echo_server: a stale file from a crashed
        // server is removed, a live server's is never touched.
        course::Fd listener(
            course::check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
        lesson18::clear_stale_socket(path, SOCK_STREAM);
        lesson18::bind_path(listener.get(), path, mode);
        const lesson18::SocketFile socket_file(path);  // unlinked when we leave, even on Ctrl-C
        course::check(::listen(listener.get(), 128), "listen");
        std::cout << "listening on unix:" << path << std::endl;

        for (long number = 1;; ++number) {
            course::Fd client = course::accept_client(listener.get());
            try {
                const std::string line = whoami_line(client.get());
                std::cerr << "client #" << number << ": " << line;  // the line ends in '\n'
                course::send_all(client.get(), line);
            } catch (const std::system_error& e) {  // it left already: its loss, not ours
                std::cerr << "client #" << number << ": " << e.what() << '\n';
            }
            // `client` closes here: the client reads its line, then end of file.
        }
    });
}
