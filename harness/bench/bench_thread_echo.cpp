// bench_thread_echo: a thread-per-connection echo server written without course::socketserver.
//
// The benchmark's yardstick for what the library's abstractions cost: the same
// threads, the same stop-aware waits (course::recv_some/send_all), no handler
// classes, no virtual steps. With --blocking it is instead the cheapest thread
// server there is: plain blocking recv()/send(), no poll() at all, stopped by
// shutting its sockets down. That is the ceiling of the design on this machine.
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <iostream>
#include <list>
#include <string>
#include <thread>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

namespace {

struct Worker {
    course::Fd client;  // owned here, closed only after the thread is joined
    std::atomic<bool> done{false};
    std::jthread thread;
};

void echo_stop_aware(int fd) {
    std::vector<char> buffer(16 * 1024);
    try {
        for (;;) {
            std::size_t n = course::recv_some(fd, buffer.data(), buffer.size());
            if (n == 0) break;
            course::send_all(fd, buffer.data(), n);
        }
    } catch (const course::StopRequested&) {
    } catch (const std::exception&) {  // a reset client costs only its connection
    }
}

// Two system calls per message and nothing else. EINTR (our SIGTERM) or an
// error ends the connection; so does shutdown() from main() on the way out.
void echo_blocking(int fd) {
    std::vector<char> buffer(16 * 1024);
    for (;;) {
        ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) return;
        for (ssize_t sent = 0; sent < n;) {
            ssize_t m =
                ::send(fd, buffer.data() + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
            if (m < 0) return;
            sent += m;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Plain thread-per-connection echo server (benchmark reference)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8015;
    bool blocking = false;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_flag("--blocking", blocking,
                 "Blocking recv()/send() with no poll(): the design's ceiling, not stop-aware");
    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);

        course::Fd listener = course::listen_tcp(host, port, {SOMAXCONN, true});
        course::announce_listening(listener.get());
        std::list<Worker> workers;
        // On the way out (SIGTERM makes accept_client throw), wake every blocked
        // recv() before the list's destructor joins the threads.
        struct WakeBlocked {
            std::list<Worker>& workers;
            ~WakeBlocked() {
                for (Worker& w : workers)
                    ::shutdown(w.client.get(), SHUT_RDWR);
            }
        } wake{workers};
        for (;;) {
            course::Fd client = course::accept_client(listener.get());        // throws on SIGTERM
            std::erase_if(workers, [](Worker& w) { return w.done.load(); });  // join finished ones
            Worker& worker = workers.emplace_back();
            worker.client = std::move(client);
            worker.thread = std::jthread([&worker, blocking] {
                (blocking ? echo_blocking : echo_stop_aware)(worker.client.get());
                worker.done.store(true);
            });
        }
    });
}
