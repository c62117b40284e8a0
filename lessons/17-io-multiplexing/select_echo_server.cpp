// select_echo_server: one thread, many clients: select(), fd_set bitmaps and the FD_SETSIZE limit.
//
// select() is the oldest and most portable way to wait for many sockets, and
// the one Python's select.select() wraps. An fd_set is a fixed bitmap of
// FD_SETSIZE (1024) bits: a descriptor numbered 1024 or more cannot be put in
// one at all (FD_SET would write past its end). This server refuses such
// connections with a log line instead of corrupting memory.
#include <sys/select.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "echo_connection.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Echo server for many clients at once, with select() (lesson 17)."};
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

        std::map<int, lesson17::Connection> clients;
        lesson17::AcceptPause pause;
        std::vector<char> scratch(64 * 1024);  // every recv() lands here first
        long refused = 0;

        for (;;) {
            // --8<-- [start:build]
            // select() overwrites the sets with its answer, so they are built
            // again every round. `highest` + 1 tells the kernel how many bits to look at.
            fd_set readable;
            fd_set writable;
            FD_ZERO(&readable);
            FD_ZERO(&writable);
            FD_SET(course::stop_fd(), &readable);
            int highest = course::stop_fd();
            if (!pause.active()) {
                FD_SET(listener.get(), &readable);
                highest = std::max(highest, listener.get());
            }
            for (const auto& [fd, client] : clients) {
                if (client.wants_read(settings)) FD_SET(fd, &readable);
                if (client.wants_write()) FD_SET(fd, &writable);
                highest = std::max(highest, fd);
            }
            // --8<-- [end:build]

            // The timeout is a timeval; a null pointer means "wait forever".
            const int wait_ms = pause.wait_ms();
            timeval timeout{wait_ms / 1000, (wait_ms % 1000) * 1000};
            const int ready = ::select(highest + 1, &readable, &writable, nullptr,
                                       wait_ms < 0 ? nullptr : &timeout);
            if (ready < 0 && errno == EINTR) continue;
            course::check(ready, "select");

            if (FD_ISSET(course::stop_fd(), &readable)) return 0;  // Ctrl-C / SIGTERM

            for (auto it = clients.begin(); it != clients.end();) {
                lesson17::Connection& client = it->second;
                if (FD_ISSET(it->first, &readable)) client.on_readable(scratch);
                if (FD_ISSET(it->first, &writable)) client.on_writable();
                if (!client.done()) {
                    ++it;
                    continue;
                }
                if (!settings.quiet)
                    std::cerr << "disconnected: " << client.peer()
                              << (client.error().empty() ? "" : " (" + client.error() + ")")
                              << '\n';
                it = clients.erase(it);
                pause.end();
            }

            if (!pause.active() && FD_ISSET(listener.get(), &readable)) {
                lesson17::accept_waiting(
                    listener.get(), pause, [&](course::Fd sock, const std::string& peer) {
                        // --8<-- [start:fd_setsize]
                        const int fd = sock.get();
                        if (fd >= FD_SETSIZE) {
                            // Closing it (sock's destructor) is all we can do honestly.
                            ++refused;
                            std::cerr << "refused " << peer << ": fd " << fd << " >= FD_SETSIZE ("
                                      << FD_SETSIZE << "), select() cannot watch it (" << refused
                                      << " refused so far; poll/epoll have no such limit)\n";
                            return;
                        }
                        // --8<-- [end:fd_setsize]
                        if (!settings.quiet) std::cerr << "connected: " << peer << '\n';
                        clients.try_emplace(fd, std::move(sock), peer);
                    });
            }
        }
    });
}
