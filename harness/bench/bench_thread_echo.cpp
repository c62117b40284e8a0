// bench_thread_echo: a thread-per-connection echo server written without course::socketserver.
//
// The benchmark's yardstick for what the library's abstractions cost: the same
// threads, the same stop-aware waits (course::recv_some/send_all), no handler
// classes, no virtual steps.
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
    std::atomic<bool> done{false};
    std::jthread thread;
};

void echo(course::Fd client) {
    std::vector<char> buffer(16 * 1024);
    try {
        for (;;) {
            std::size_t n = course::recv_some(client.get(), buffer.data(), buffer.size());
            if (n == 0) break;
            course::send_all(client.get(), buffer.data(), n);
        }
    } catch (const course::StopRequested&) {
    } catch (const std::exception&) {  // a reset client costs only its connection
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Plain thread-per-connection echo server (benchmark reference)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8015;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);

        course::Fd listener = course::listen_tcp(host, port, {SOMAXCONN, true});
        course::announce_listening(listener.get());
        std::list<Worker> workers;  // destroyed (joined) on the way out, even on SIGTERM
        for (;;) {
            course::Fd client = course::accept_client(listener.get());        // throws on SIGTERM
            std::erase_if(workers, [](Worker& w) { return w.done.load(); });  // join finished ones
            Worker& worker = workers.emplace_back();
            worker.thread = std::jthread([&worker, fd = std::move(client)]() mutable {
                echo(std::move(fd));
                worker.done.store(true);
            });
        }
    });
}
