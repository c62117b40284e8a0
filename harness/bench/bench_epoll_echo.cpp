// bench_epoll_echo: a single-threaded epoll echo server, the benchmark's near-limit reference.
//
// One thread, one epoll set, non-blocking sockets (lesson 17 explains it all):
// no thread per client, so nothing to switch between and ~no memory per client.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

namespace {

struct Client {
    course::Fd fd;
    std::string unsent;  // echo bytes the socket did not take yet
};

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Single-threaded epoll echo server (benchmark reference)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8015;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);

        course::Fd listener = course::listen_tcp(host, port, {SOMAXCONN, true});
        // Non-blocking: we accept in a loop until the queue is empty (EAGAIN).
        course::check(::fcntl(listener.get(), F_SETFL, O_NONBLOCK), "fcntl O_NONBLOCK");
        course::Fd epoll(course::check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1"));
        auto watch = [&](int fd, std::uint32_t events, int op) {
            epoll_event event{};
            event.events = events;
            event.data.fd = fd;
            ::epoll_ctl(epoll.get(), op, fd, &event);
        };
        watch(listener.get(), EPOLLIN, EPOLL_CTL_ADD);
        watch(course::stop_fd(), EPOLLIN, EPOLL_CTL_ADD);
        course::announce_listening(listener.get());

        std::unordered_map<int, Client> clients;
        std::vector<epoll_event> events(1024);
        std::vector<char> buffer(64 * 1024);
        for (;;) {
            int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), -1);
            if (n < 0 && errno == EINTR) continue;
            course::check(n, "epoll_wait");
            for (int k = 0; k < n; ++k) {
                const int fd = events[k].data.fd;
                if (fd == course::stop_fd()) return 0;  // SIGTERM: clients close with the map
                if (fd == listener.get()) {
                    for (;;) {  // take every queued connection
                        int c = ::accept4(listener.get(), nullptr, nullptr,
                                          SOCK_NONBLOCK | SOCK_CLOEXEC);
                        if (c < 0) break;  // EAGAIN, or out of fds: try again next time
                        clients[c].fd = course::Fd(c);
                        watch(c, EPOLLIN, EPOLL_CTL_ADD);
                    }
                    continue;
                }
                Client& client = clients[fd];
                bool close = false;
                if (events[k].events & EPOLLOUT) {
                    ssize_t s =
                        ::send(fd, client.unsent.data(), client.unsent.size(), MSG_NOSIGNAL);
                    if (s > 0)
                        client.unsent.erase(0, static_cast<std::size_t>(s));
                    else if (s < 0 && errno != EAGAIN)
                        close = true;
                    if (client.unsent.empty()) watch(fd, EPOLLIN, EPOLL_CTL_MOD);
                } else {
                    ssize_t r = ::recv(fd, buffer.data(), buffer.size(), 0);
                    if (r <= 0) {
                        close = r == 0 || errno != EAGAIN;
                    } else {
                        ssize_t s =
                            ::send(fd, buffer.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL);
                        if (s < 0 && errno != EAGAIN)
                            close = true;
                        else if (s < r) {  // socket full: keep the rest, wait for EPOLLOUT
                            client.unsent.assign(buffer.data() + std::max<ssize_t>(s, 0),
                                                 buffer.data() + r);
                            watch(fd, EPOLLOUT, EPOLL_CTL_MOD);
                        }
                    }
                }
                if (close) clients.erase(fd);  // closing removes it from epoll
            }
        }
    });
}
