// backlog_server: listens with a small backlog and never accepts: watch the accept queue fill.
//
// Every connect() is a three-way handshake (SYN, SYN-ACK, ACK) that the
// KERNEL completes, not your program: a finished connection waits in the
// listening socket's accept queue until accept() takes it out. listen(fd, N)
// sets how long that queue may grow. Linux lets it hold N + 1 connections;
// once it is full, new SYNs are simply dropped, and the client's kernel keeps
// retrying (once a second at first) until its connect() gives up.
//
//   backlog_server --backlog 2                    never accepts: the queue stays full
//   backlog_server --backlog 2 --accept-after 5   starts accepting after 5 seconds
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <iostream>
#include <string>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

namespace {

// How many finished connections wait in the accept queue right now, and its
// limit. For a LISTENING socket Linux reports them in TCP_INFO's tcpi_unacked
// and tcpi_sacked fields (the same numbers `ss -ltn` shows as Recv-Q and Send-Q).
void log_queue(int listener) {
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(listener, IPPROTO_TCP, TCP_INFO, &info, &length) == 0)
        std::cerr << "accept queue: " << info.tcpi_unacked << " connection(s) waiting (limit "
                  << info.tcpi_sacked << ")\n";
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Listen with a small backlog and accept late (lesson 06)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8006;
    int backlog = 2;
    double accept_after = -1;  // never
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--backlog", backlog, "listen() backlog: the accept queue's length")
        ->check(course::cli::Range(0, 4096))
        ->capture_default_str();
    course::add_seconds_option(app, "--accept-after", accept_after,
                               "Start accepting after this long (default: never)")
        ->default_str("never");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();

        // --8<-- [start:listen]
        const course::Endpoint local = course::resolve(host, port, SOCK_STREAM, true).front();
        course::Fd listener(course::check(::socket(local.family, SOCK_STREAM, 0), "socket"));
        int on = 1;  // so a quick restart is not refused (lesson 07 explains why)
        course::check(::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt SO_REUSEADDR");
        course::check(::bind(listener.get(), local.addr(), local.length),
                      "bind " + local.to_string());
        // From here on the KERNEL answers SYNs and completes handshakes on its
        // own. `backlog` bounds how many finished connections may wait for accept().
        course::check(::listen(listener.get(), backlog), "listen");
        // --8<-- [end:listen]
        course::announce_listening(listener.get());
        std::cerr << "backlog " << backlog << ": Linux queues up to " << backlog + 1
                  << " connections; further SYNs are dropped\n";

        // --8<-- [start:wait]
        if (accept_after < 0) {
            std::cerr << "not accepting: watch the queue with  ss -ltn 'sport = :"
                      << course::local_port(listener.get()) << "'\n";
            // Sleep until Ctrl-C / SIGTERM: wait for the stop pipe to become readable.
            course::wait_readable(course::stop_fd());
        }
        // Sleeping "until the time is up or we are asked to stop": the stop pipe
        // is the one thing we wait on, with a time limit.
        course::wait_readable(course::stop_fd(), accept_after);
        log_queue(listener.get());
        // --8<-- [end:wait]

        // --8<-- [start:accept]
        for (long number = 1;; ++number) {
            course::Fd client = course::accept_client(listener.get());  // the oldest queued one
            std::string peer = "(gone)";
            try {
                peer = course::peer_address(client.get());  // fails if it already reset
                course::send_all(client.get(), "welcome #" + std::to_string(number));
                std::cerr << "accepted #" << number << " from " << peer << ", said welcome\n";
            } catch (const std::system_error& e) {
                // The client may have given up while it waited in the queue.
                std::cerr << "client #" << number << " " << peer << ": " << e.what() << '\n';
            }
        }  // `client` closes here: our FIN ends that connection
        // --8<-- [end:accept]
    });
}
