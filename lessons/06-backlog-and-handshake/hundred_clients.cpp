// hundred_clients: exercise 06.1 -- the seeds' 100-connection loop: connect, close, and again.
//
// Every connect() is a full three-way handshake, and every close() a FIN
// exchange: doing it a hundred times in a row shows how cheap (and how
// visible in `ss -tan`: all those TIME_WAITs) short connections are.
// connect_many keeps its connections open; this client closes each one
// before it opens the next, and counts how many succeeded.
//
// Its server must accept: lesson 04's tcp_echo_server (port 8004, this
// program's default). Lesson 06's backlog_server never accepts: after its
// queue is full every connect times out, and the few that got in leave no
// TIME_WAIT behind, because the server never closes its end.
//
//   build/bin/tcp_echo_server &          # port 8004
//   hundred_clients --count 100          -> "connected 100 of 100"
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <system_error>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/net.hpp"

int main(int argc, char** argv) {
    course::cli::App app{
        "Connect to a server COUNT times, one after another (lesson 06, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8004;  // lesson 04's tcp_echo_server: it accepts every connection
    int count = 100;
    double timeout = 2.0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--count", count, "How many connections to make")
        ->check(course::cli::Range(1, 10000))
        ->capture_default_str();
    course::add_seconds_option(app, "--timeout", timeout, "Give up on one connect() after this");

    return course::run_main(app, argc, argv, [&]() -> int {
        int connected = 0;
        std::string last_error;
        for (int i = 0; i < count; ++i) {
            // Exercise 06.1: connect (course::connect_tcp, with `timeout`), count it,
            // and close the socket again; a failed connect is remembered in
            // last_error (e.what()) and the loop goes on.
            // BEGIN SOLUTION 06.1
            try {
                // The Fd closes the socket when it goes out of scope, at the end
                // of this block: one connection at a time.
                course::Fd connection = course::connect_tcp(host, port, timeout);  // handshake
                ++connected;
            } catch (const std::system_error& e) {
                last_error = e.what();
            }
            // BEGIN STUB
            // static_cast<void>(timeout);  // unused until you write the loop body
            // END STUB
            // END SOLUTION
        }
        std::cout << "connected " << connected << " of " << count << std::endl;
        if (connected < count && !last_error.empty())
            std::cerr << "last error: " << last_error << '\n';
        return connected == count ? 0 : 1;
    });
}
