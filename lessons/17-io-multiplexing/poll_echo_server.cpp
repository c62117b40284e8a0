// poll_echo_server: one thread, many clients: poll() watches an array of sockets for ready ones.
//
// poll() has no FD_SETSIZE limit (unlike select), but every call hands the
// kernel the whole array and we scan the whole array afterwards: the cost of
// each wait grows with the number of connected clients, ready or not.
#include <poll.h>

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
    course::cli::App app{"Echo server for many clients at once, with poll() (lesson 17)."};
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
        std::vector<pollfd> fds;

        for (;;) {
            // --8<-- [start:build]
            // Every round, list what we want to hear about: the stop pipe, the
            // listener (unless accepts are paused), and each client with the
            // events it wants right now.
            fds.clear();
            fds.push_back({course::stop_fd(), POLLIN, 0});
            fds.push_back({pause.active() ? -1 : listener.get(), POLLIN, 0});  // -1: ignored
            for (const auto& [fd, client] : clients) {
                short events = 0;
                if (client.wants_read(settings)) events |= POLLIN;
                if (client.wants_write()) events |= POLLOUT;
                fds.push_back({fd, events, 0});
            }
            // --8<-- [end:build]

            const int ready = ::poll(fds.data(), fds.size(), pause.wait_ms());
            if (ready < 0 && errno == EINTR) continue;
            course::check(ready, "poll");

            // --8<-- [start:scan]
            if (fds[0].revents != 0) return 0;  // Ctrl-C / SIGTERM

            // Clients first: their entries match the map as it was when we built fds.
            for (std::size_t i = 2; i < fds.size(); ++i) {
                if (fds[i].revents == 0) continue;
                lesson17::Connection& client = clients.at(fds[i].fd);
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) client.on_readable(scratch);
                if (fds[i].revents & POLLOUT) client.on_writable();
                if (client.done()) {
                    if (!settings.quiet)
                        std::cerr << "disconnected: " << client.peer()
                                  << (client.error().empty() ? "" : " (" + client.error() + ")")
                                  << '\n';
                    clients.erase(fds[i].fd);
                    pause.end();  // a descriptor is free again
                }
            }

            if (fds[1].revents & POLLIN) {
                lesson17::accept_waiting(listener.get(), pause,
                                         [&](course::Fd sock, const std::string& peer) {
                                             const int fd = sock.get();
                                             if (!settings.quiet)
                                                 std::cerr << "connected: " << peer << '\n';
                                             clients.try_emplace(fd, std::move(sock), peer);
                                         });
            }
            // --8<-- [end:scan]
        }
    });
}
