// bench_load: the load generator of lesson 15's benchmark: ping-pong, connect-request-close, hold.
//
// One thread and one epoll set drive every connection, so the loader costs
// about one core whatever the connection count. It prints one JSON object:
// requests/s, latency percentiles, connections held. harness/bench/run_bench.py
// runs it against each echo server.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Connection {
    course::Fd fd;
    std::size_t received = 0;
    Clock::time_point started{};
    bool connected = false;
    bool done = false;
};

class Loader {
  public:
    Loader(const std::string& host, std::uint16_t port, std::size_t size)
        : endpoint_(course::resolve(host, port, SOCK_STREAM).front()),
          message_(size, 'x'),
          epoll_(course::check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")) {}

    // Starts a non-blocking connect; the socket reports EPOLLOUT once it is done.
    bool start_connect(Connection& c, std::uint32_t id) {
        c = Connection{};
        c.started = Clock::now();
        int fd = ::socket(endpoint_.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        c.fd = course::Fd(fd);
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd, endpoint_.addr(), endpoint_.length) < 0 && errno != EINPROGRESS)
            return false;
        watch(c, id, EPOLLOUT, EPOLL_CTL_ADD);
        return true;
    }

    void watch(Connection& c, std::uint32_t id, std::uint32_t events, int op) {
        epoll_event event{};
        event.events = events;
        event.data.u32 = id;
        course::check(::epoll_ctl(epoll_.get(), op, c.fd.get(), &event), "epoll_ctl");
    }

    static bool connect_result(Connection& c) {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
        return error == 0;
    }

    bool send_message(Connection& c) {
        c.received = 0;
        c.started = Clock::now();
        ssize_t n = ::send(c.fd.get(), message_.data(), message_.size(), MSG_NOSIGNAL);
        return n == static_cast<ssize_t>(message_.size());
    }

    // Reads what is there; true once the whole echo arrived. `failed` on EOF/error.
    bool read_echo(Connection& c, bool& failed) {
        char buffer[65536];
        for (;;) {
            ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
            if (n > 0) {
                c.received += static_cast<std::size_t>(n);
                if (c.received >= message_.size()) return true;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
            if (n < 0 && errno == EINTR) continue;
            failed = true;
            return false;
        }
    }

    int wait(std::vector<epoll_event>& events, int timeout_ms) {
        int n =
            ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
        return n < 0 ? 0 : n;
    }

    // Connects `count` sockets at once; returns how many got through within `timeout`.
    std::size_t connect_all(std::vector<Connection>& conns, double timeout) {
        std::size_t pending = 0, ok = 0;
        for (std::uint32_t i = 0; i < conns.size(); ++i)
            if (start_connect(conns[i], i)) ++pending;
        std::vector<epoll_event> events(1024);
        const auto start = Clock::now();
        while (pending > 0 && seconds_since(start) < timeout) {
            int n = wait(events, 50);
            for (int k = 0; k < n; ++k) {
                Connection& c = conns[events[k].data.u32];
                if (c.connected || c.done) continue;
                --pending;
                if (connect_result(c)) {
                    c.connected = true;
                    ++ok;
                    watch(c, events[k].data.u32, EPOLLIN, EPOLL_CTL_MOD);
                } else {
                    c.done = true;
                    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
                    c.fd.reset();
                }
            }
        }
        return ok;
    }

    const std::string& message() const { return message_; }

  private:
    course::Endpoint endpoint_;
    std::string message_;
    course::Fd epoll_;
};

struct Stats {
    std::vector<double> latencies_us;
    std::size_t requests = 0;
    std::size_t failures = 0;
    double seconds = 0;
};

double percentile(std::vector<double>& values, double p) {
    if (values.empty()) return 0;
    auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
    return values[index];
}

void print(const std::string& mode, std::size_t connections, Stats& s, std::size_t held = 0,
           std::size_t echoed = 0, double connect_seconds = 0) {
    const double p50 = percentile(s.latencies_us, 0.50);
    const double p99 = percentile(s.latencies_us, 0.99);
    std::cout << "{\"mode\": \"" << mode << "\", \"connections\": " << connections
              << ", \"requests\": " << s.requests << ", \"failures\": " << s.failures
              << ", \"seconds\": " << s.seconds
              << ", \"rps\": " << (s.seconds > 0 ? static_cast<double>(s.requests) / s.seconds : 0)
              << ", \"p50_us\": " << p50 << ", \"p99_us\": " << p99 << ", \"held\": " << held
              << ", \"echoed\": " << echoed << ", \"connect_seconds\": " << connect_seconds << "}"
              << std::endl;
}

// C persistent connections, each sending a message and waiting for its echo, again and again.
void ping_pong(Loader& loader, std::size_t count, double seconds) {
    std::vector<Connection> conns(count);
    const std::size_t ok = loader.connect_all(conns, 15.0);
    Stats s;
    s.failures = count - ok;
    const auto start = Clock::now();
    for (auto& c : conns)
        if (c.connected && !loader.send_message(c)) c.done = true;
    std::vector<epoll_event> events(1024);
    while (seconds_since(start) < seconds) {
        int n = loader.wait(events, 10);
        for (int k = 0; k < n; ++k) {
            Connection& c = conns[events[k].data.u32];
            if (c.done) continue;
            bool failed = false;
            if (loader.read_echo(c, failed)) {
                s.latencies_us.push_back(seconds_since(c.started) * 1e6);
                ++s.requests;
                if (!loader.send_message(c)) failed = true;
            }
            if (failed) {
                c.done = true;
                ++s.failures;
                c.fd.reset();
            }
        }
    }
    s.seconds = seconds_since(start);
    print("pingpong", count, s, ok);
}

// C slots, each: connect, send one message, read the echo, close, and again.
void connect_request_close(Loader& loader, std::size_t count, double seconds) {
    std::vector<Connection> conns(count);
    Stats s;
    const auto start = Clock::now();
    for (std::uint32_t i = 0; i < count; ++i)
        if (!loader.start_connect(conns[i], i)) ++s.failures;
    std::vector<epoll_event> events(1024);
    while (seconds_since(start) < seconds) {
        int n = loader.wait(events, 10);
        for (int k = 0; k < n; ++k) {
            const std::uint32_t id = events[k].data.u32;
            Connection& c = conns[id];
            bool failed = false, finished = false;
            if (!c.connected) {
                if (Loader::connect_result(c)) {
                    c.connected = true;
                    const auto began = c.started;
                    failed = !loader.send_message(c);
                    c.started = began;  // latency: from connect() to the echo
                    if (!failed) loader.watch(c, id, EPOLLIN, EPOLL_CTL_MOD);
                } else {
                    failed = true;
                }
            } else if (loader.read_echo(c, failed)) {
                s.latencies_us.push_back(seconds_since(c.started) * 1e6);
                ++s.requests;
                finished = true;
            }
            if (failed) ++s.failures;
            if (failed || finished) {
                c.fd.reset();  // close (epoll forgets the socket with it)
                if (seconds_since(start) < seconds && !loader.start_connect(c, id)) ++s.failures;
            }
        }
    }
    s.seconds = seconds_since(start);
    print("ccr", count, s);
}

// K connections at once (no pacing), held, then each must still echo.
void hold(Loader& loader, std::size_t count, double hold_seconds, double timeout) {
    std::vector<Connection> conns(count);
    const auto start = Clock::now();
    const std::size_t held = loader.connect_all(conns, timeout);
    const double connect_seconds = seconds_since(start);
    std::this_thread::sleep_for(std::chrono::duration<double>(hold_seconds));
    Stats s;
    std::size_t waiting = 0;
    for (auto& c : conns)
        if (c.connected) {
            if (loader.send_message(c))
                ++waiting;
            else
                c.done = true;
        }
    std::size_t echoed = 0;
    std::vector<epoll_event> events(1024);
    const auto asked = Clock::now();
    while (waiting > 0 && seconds_since(asked) < timeout) {
        int n = loader.wait(events, 50);
        for (int k = 0; k < n; ++k) {
            Connection& c = conns[events[k].data.u32];
            if (c.done) continue;
            bool failed = false;
            if (loader.read_echo(c, failed)) {
                s.latencies_us.push_back(seconds_since(c.started) * 1e6);
                ++echoed;
                c.done = true;
                --waiting;
            } else if (failed) {
                c.done = true;
                --waiting;
            }
        }
    }
    s.requests = echoed;
    s.failures = count - echoed;
    s.seconds = seconds_since(asked);
    print("hold", count, s, held, echoed, connect_seconds);
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Load generator for the lesson 15 benchmark (prints one JSON line)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8015;
    std::string mode = "pingpong";
    std::size_t connections = 10;
    std::size_t size = 64;
    double seconds = 2.0, hold_seconds = 1.0, timeout = 10.0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("mode", mode, "pingpong, ccr (connect-request-close) or hold")
        ->check(course::cli::IsMember({"pingpong", "ccr", "hold"}));
    app.add_option("--connections", connections, "Connections (or concurrent slots)")
        ->check(course::cli::Range(1, 100000));
    app.add_option("--size", size, "Message size in bytes")->check(course::cli::Range(1, 65536));
    course::add_seconds_option(app, "--seconds", seconds, "How long to measure");
    course::add_seconds_option(app, "--hold", hold_seconds, "hold: how long to keep them idle");
    course::add_seconds_option(app, "--timeout", timeout, "hold: limit for connecting and echoing");

    return course::run_main(app, argc, argv, [&] {
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        limit.rlim_cur = limit.rlim_max;  // one descriptor per connection
        ::setrlimit(RLIMIT_NOFILE, &limit);
        Loader loader(host, port, size);
        if (mode == "pingpong")
            ping_pong(loader, connections, seconds);
        else if (mode == "ccr")
            connect_request_close(loader, connections, seconds);
        else
            hold(loader, connections, hold_seconds, timeout);
        return 0;
    });
}
