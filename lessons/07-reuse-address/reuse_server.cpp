// reuse_server: accepts one client, says bye and closes FIRST: the server's side ends in TIME_WAIT.
//
// Restart it at once on the same port and bind() fails with "Address already
// in use": the old connection (our port, the client's port) still lingers in
// TIME_WAIT for 2*MSL (60 s on Linux). SO_REUSEADDR lets bind() ignore such
// connections -- on Linux only if they came from a socket that had it set too,
// so set it on every run: --reuse-address.
//
//   reuse_server --port 8007 --reuse-address
#include <sys/socket.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

int main(int argc, char** argv) {
    course::cli::App app{
        "Accept one client, close first, and show TIME_WAIT vs SO_REUSEADDR (lesson 07)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8007;
    bool reuse_address = false;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_flag("--reuse-address", reuse_address,
                 "Set SO_REUSEADDR before bind(), so connections in TIME_WAIT do not block it");

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();

        const course::Endpoint local = course::resolve(host, port, SOCK_STREAM, true).front();
        course::Fd listener(course::check(::socket(local.family, SOCK_STREAM, 0), "socket"));

        // --8<-- [start:reuse]
        if (reuse_address) {
            // Must come BEFORE bind(). Accepted sockets inherit it, so the
            // connection that later sits in TIME_WAIT carries it as well.
            int on = 1;
            course::check(::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                          "setsockopt SO_REUSEADDR");
        }
        if (::bind(listener.get(), local.addr(), local.length) < 0) {
            if (errno != EADDRINUSE) course::throw_errno("bind " + local.to_string());
            std::cerr << "error: bind " << local.to_string() << ": "
                      << std::system_category().message(EADDRINUSE)
                      << "\nhint: another program may be listening on this port, or a recent "
                         "connection on it is still in TIME_WAIT (see: ss -tan state time-wait)."
                         "\nhint: a server that closed first must wait 2*MSL before its port is "
                         "free again; set SO_REUSEADDR (--reuse-address) on EVERY run to "
                         "restart at once.\n";
            return 1;
        }
        // --8<-- [end:reuse]
        course::check(::listen(listener.get(), 16), "listen");
        course::announce_listening(listener.get());

        // --8<-- [start:close-first]
        course::Fd client = course::accept_client(listener.get());
        std::string peer = "(gone)";
        try {
            peer = course::peer_address(client.get());  // fails if it already reset
            std::cerr << "client " << peer << " connected\n";
            course::send_all(client.get(), "bye");
        } catch (const std::system_error& e) {
            std::cerr << "client " << peer << ": " << e.what() << '\n';
        }
        // We close first: this is the "active close". Our FIN goes out, the
        // client answers with ACK and its own FIN, we ACK that, and OUR side of
        // the connection stays in TIME_WAIT for 2*MSL (the kernel keeps it even
        // after this process has exited).
        client.reset();
        std::cerr << "closed the connection to " << peer
                  << " first: look for it with  ss -tan state time-wait\n";
        // --8<-- [end:close-first]
        return 0;
    });
}
