// bind_probe: exercise 07.1 -- asks the kernel "could a server bind this port now?" and why not.
//
// "Address already in use" has two usual causes: another program is listening
// on the port, or a recent connection on it is still in TIME_WAIT. The probe
// binds (and listens on) a TCP socket, reports, and lets go at once. With
// --reuse-address it sets SO_REUSEADDR first, which gets past TIME_WAIT but
// never past a live listener.
//
//   bind_probe --port 8007                  -> "port 8007 is free" (exit 0)
//   bind_probe --port 8007 --reuse-address  -> "port 8007 is in use" (exit 1) + a hint
#include <sys/socket.h>

#include <cerrno>
#include <iostream>
#include <string>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"

// Binds `sock` to `local`, with SO_REUSEADDR first when `reuse` is set, and
// listens. Returns false when the port is in use (EADDRINUSE); throws on any
// other error.
bool try_bind(int sock, const course::Endpoint& local, bool reuse) {
    // Exercise 07.1: set SO_REUSEADDR when asked, then bind() and listen();
    // EADDRINUSE from either is an answer (return false), not an error.
    // BEGIN SOLUTION 07.1
    if (reuse) {
        int on = 1;  // must be set BEFORE bind(): bind() is where the kernel checks
        course::check(::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt(SO_REUSEADDR)");
    }
    if (::bind(sock, local.addr(), local.length) < 0 || ::listen(sock, 1) < 0) {
        if (errno == EADDRINUSE) return false;
        course::throw_errno("bind " + local.to_string());
    }
    return true;
    // BEGIN STUB
    // static_cast<void>(reuse);  // unused until you write it
    // course::check(::bind(sock, local.addr(), local.length), "bind " + local.to_string());
    // return true;
    // END STUB
    // END SOLUTION
}

int main(int argc, char** argv) {
    course::cli::App app{"Tell whether a TCP port can be bound right now (lesson 07, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8007;
    bool reuse = false;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_flag("--reuse-address", reuse, "Set SO_REUSEADDR before bind()");

    return course::run_main(app, argc, argv, [&]() -> int {
        const course::Endpoint local = course::resolve(host, port, SOCK_STREAM, true).front();
        course::Fd sock(course::check(::socket(local.family, SOCK_STREAM, 0), "socket"));
        if (try_bind(sock.get(), local, reuse)) {
            std::cout << "port " << port << " is free" << std::endl;
            return 0;
        }
        std::cout << "port " << port << " is in use" << std::endl;
        std::cerr << "hint: a program is listening on it (ss -ltn), or a recent connection on it"
                     " is in TIME_WAIT (ss -tan state time-wait); SO_REUSEADDR (--reuse-address)"
                     " gets past TIME_WAIT only.\n";
        return 1;
    });
}
