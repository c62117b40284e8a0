// epoll_echo_server: one thread, many clients: epoll says which sockets are ready, and only those.
//
// Linux only. The interest list lives in the kernel (epoll_ctl), so each wait
// costs in proportion to the sockets that are *ready*, not to all connected
// ones: this is what lets one thread hold 10,000 connections.
#include <sys/epoll.h>

#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "echo_connection.hpp"

namespace {

// --8<-- [start:interest]
// What we want to hear about for a client right now: EPOLLIN unless its
// output buffer is full (backpressure), EPOLLOUT only while output is waiting.
// Asking for EPOLLOUT all the time would wake us up constantly: an idle socket
// is always writable.
std::uint32_t interest(const lesson17::Connection& c, const lesson17::Settings& settings) {
    return (c.wants_read(settings) ? EPOLLIN : 0u) | (c.wants_write() ? EPOLLOUT : 0u);
}

void watch(int epoll_fd, int op, int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    course::check(::epoll_ctl(epoll_fd, op, fd, &event), "epoll_ctl");
}
// --8<-- [end:interest]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Echo server for many clients at once, with epoll (lesson 17)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8017;
    int backlog = 4096;
    lesson17::Settings settings;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--backlog", backlog, "listen() backlog")->capture_default_str();
    app.add_option("--max-buffer", settings.max_buffer,
                   "Stop reading a client with this many unsent bytes")
        ->check(course::cli::Range(std::size_t{1}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_flag("--quiet", settings.quiet, "Do not log every connect and disconnect");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        course::Fd listener = course::listen_tcp(host, port, {.backlog = backlog});
        lesson17::set_nonblocking(listener.get());
        course::announce_listening(listener.get());

        // --8<-- [start:setup]
        course::Fd epoll(course::check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1"));
        watch(epoll.get(), EPOLL_CTL_ADD, course::stop_fd(), EPOLLIN);  // Ctrl-C / SIGTERM
        watch(epoll.get(), EPOLL_CTL_ADD, listener.get(), EPOLLIN);     // new connections
        bool listening = true;

        // Each client, and the events epoll is currently told to watch for it.
        struct Client {
            lesson17::Connection connection;
            std::uint32_t watched = EPOLLIN;
        };
        std::unordered_map<int, Client> clients;
        lesson17::AcceptPause pause;
        std::vector<char> scratch(64 * 1024);  // every recv() lands here first
        std::vector<epoll_event> events(512);
        // --8<-- [end:setup]

        // --8<-- [start:loop]
        for (;;) {
            // Resume accepting once an EMFILE pause is over.
            if (!listening && !pause.active()) {
                watch(epoll.get(), EPOLL_CTL_MOD, listener.get(), EPOLLIN);
                listening = true;
            }
            const int ready = ::epoll_wait(epoll.get(), events.data(),
                                           static_cast<int>(events.size()), pause.wait_ms());
            if (ready < 0 && errno == EINTR) continue;
            course::check(ready, "epoll_wait");

            for (int i = 0; i < ready; ++i) {
                const int fd = events[static_cast<std::size_t>(i)].data.fd;
                const std::uint32_t what = events[static_cast<std::size_t>(i)].events;

                if (fd == course::stop_fd()) return 0;  // destructors close every socket

                if (fd == listener.get()) {
                    lesson17::accept_waiting(
                        listener.get(), pause, [&](course::Fd sock, std::string peer) {
                            const int client_fd = sock.get();
                            if (!settings.quiet) std::cerr << "connected: " << peer << '\n';
                            clients.try_emplace(client_fd, Client{lesson17::Connection(
                                                               std::move(sock), std::move(peer))});
                            watch(epoll.get(), EPOLL_CTL_ADD, client_fd, EPOLLIN);
                        });
                    if (pause.active()) {  // stop hearing about the listener for a while
                        watch(epoll.get(), EPOLL_CTL_MOD, listener.get(), 0);
                        listening = false;
                    }
                    continue;
                }

                auto found = clients.find(fd);
                if (found == clients.end()) continue;  // closed earlier in this batch
                lesson17::Connection& client = found->second.connection;
                // EPOLLHUP/EPOLLERR: let recv()/send() collect the reason.
                if (what & (EPOLLIN | EPOLLHUP | EPOLLERR)) client.on_readable(scratch);
                if (what & EPOLLOUT) client.on_writable();

                if (client.done()) {
                    if (!settings.quiet)
                        std::cerr << "disconnected: " << client.peer()
                                  << (client.error().empty() ? "" : " (" + client.error() + ")")
                                  << '\n';
                    clients.erase(found);  // closing the fd also removes it from epoll
                    pause.end();           // a descriptor is free again
                } else if (const std::uint32_t want = interest(client, settings);
                           want != found->second.watched) {
                    watch(epoll.get(), EPOLL_CTL_MOD, fd, want);
                    found->second.watched = want;
                }
            }
        }
        // --8<-- [end:loop]
    });
}
