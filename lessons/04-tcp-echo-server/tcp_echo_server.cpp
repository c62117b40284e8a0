// tcp_echo_server: accepts clients one after another and sends back every byte each one sends.
//
// The seeds' echo server in C++: socket(), bind(), listen() make a listening
// socket (the switchboard); accept() hands us a new socket for one client (an
// extension line); recv()/send() talk on it until recv() returns 0, which
// means the client hung up; then close() it and accept() the next one.
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

// --8<-- [start:send]
// Sends all `length` bytes. One send() may take fewer bytes than offered when
// the client is slow to read, so we loop (Python's sendall). MSG_DONTWAIT makes
// a full buffer return EAGAIN instead of blocking, and we then wait in
// course::wait_writable(), where Ctrl-C can still reach us. MSG_NOSIGNAL: a
// client that vanished gives EPIPE instead of killing us with SIGPIPE.
void send_everything(int fd, const char* data, std::size_t length) {
    while (length > 0) {
        ssize_t n = ::send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            data += n;
            length -= static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            course::wait_writable(fd);
        } else if (errno != EINTR) {
            course::throw_errno("send");
        }
    }
}
// --8<-- [end:send]

// --8<-- [start:serve]
// Talks to one client until it closes the connection. Returns normally when the
// client hangs up; throws std::system_error when the connection breaks (e.g. the
// client reset it), which costs this client its connection and nothing more.
void echo(int client) {
    std::vector<char> buffer(4096);
    for (;;) {
        course::wait_readable(client);  // sleep until bytes (or the end) arrive, or Ctrl-C
        ssize_t n = ::recv(client, buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        course::check(n, "recv");
        if (n == 0) return;  // zero bytes: the client closed its end
        send_everything(client, buffer.data(), static_cast<std::size_t>(n));
    }
}
// --8<-- [end:serve]

int main(int argc, char** argv) {
    course::cli::App app{"Echo every byte back to each client, one client at a time (lesson 04)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8004;
    bool once = false;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_flag("--once", once, "Exit after the first client has been served");

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0

        // --8<-- [start:listen]
        // 1. socket(): SOCK_STREAM = TCP.
        const course::Endpoint local = course::resolve(host, port, SOCK_STREAM, true).front();
        course::Fd listener(course::check(::socket(local.family, SOCK_STREAM, 0), "socket"));

        // SO_REUSEADDR lets us restart at once on the same port after a stop
        // (without it: "Address already in use" for a minute; see lesson 07).
        int on = 1;
        course::check(::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt SO_REUSEADDR");

        // 2. bind(): the fixed "phone number" clients dial.
        course::check(::bind(listener.get(), local.addr(), local.length),
                      "bind " + local.to_string());

        // 3. listen(): from now on the kernel completes handshakes for us and
        //    queues up to 128 connections until we accept() them (lesson 06).
        course::check(::listen(listener.get(), 128), "listen");
        course::announce_listening(listener.get());  // "listening on 127.0.0.1:8004"
        // --8<-- [end:listen]

        for (;;) {
            // --8<-- [start:accept]
            // 4. accept(): take the next connection from the queue. It returns a
            //    NEW socket for this one client; the listener keeps listening.
            course::wait_readable(listener.get());  // a client is waiting (or Ctrl-C)
            sockaddr_storage peer{};
            socklen_t peer_length = sizeof peer;
            course::Fd client(
                ::accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length));
            if (!client) {
                // The client may have given up while queued (ECONNABORTED), or we
                // ran out of descriptors: either way keep the server alive.
                const int error = errno;
                std::cerr << "accept: " << std::system_category().message(error) << '\n';
                // Out of descriptors, the queued client stays queued and the listener
                // stays "readable": pause instead of spinning at 100% CPU.
                if (error == EMFILE || error == ENFILE)
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            const std::string who =
                course::format_address(reinterpret_cast<sockaddr*>(&peer), peer_length);
            std::cerr << "client " << who << " connected\n";
            // --8<-- [end:accept]

            // --8<-- [start:talk]
            // 5. recv()/send() until the client hangs up. A broken connection
            //    (reset, timeout) is that client's problem, not the server's.
            try {
                echo(client.get());
                std::cerr << "client " << who << " disconnected\n";
            } catch (const std::system_error& e) {
                std::cerr << "client " << who << " dropped: " << e.what() << '\n';
            }
            // 6. close() the client's socket: course::Fd does it here, at the end
            //    of the loop body (client.reset() would do it explicitly).
            client.reset();
            // --8<-- [end:talk]

            if (once) return 0;
        }
    });
}
