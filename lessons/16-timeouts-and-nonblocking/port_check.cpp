// port_check: which TCP ports answer? Non-blocking connect(), EINPROGRESS, poll() and SO_ERROR.
//
//   port_check --ports 8000-8020                 every port of 127.0.0.1 from 8000 to 8020
//   port_check --host ::1 --ports 22 --timeout 0.5
//
// Python's s.connect_ex() returns an error number instead of raising; this is
// what it does underneath, for many ports at once instead of one after another.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"

namespace {

struct PortRange {
    int first = 0;
    int last = 0;
};

// "8000-8020" or "22". Anything else is a usage error (exit 2), like a bad --port.
std::string parse_range(const std::string& text, PortRange& range) {
    const auto dash = text.find('-');
    try {
        std::size_t used = 0;
        range.first = std::stoi(text.substr(0, dash), &used);
        if (used != text.substr(0, dash).size()) throw std::invalid_argument(text);
        if (dash == std::string::npos) {
            range.last = range.first;
        } else {
            const std::string tail = text.substr(dash + 1);
            range.last = std::stoi(tail, &used);
            if (used != tail.size()) throw std::invalid_argument(text);
        }
    } catch (const std::exception&) {
        return "expected A-B (for example 8000-8020), got '" + text + "'";
    }
    if (range.first < 1 || range.last > 65535 || range.first > range.last)
        return "need 1 <= A <= B <= 65535, got '" + text + "'";
    return "";
}

// The address we resolved once, with another port number written into it.
course::Endpoint with_port(course::Endpoint endpoint, int port) {
    const auto net_port = htons(static_cast<std::uint16_t>(port));
    if (endpoint.family == AF_INET6)
        reinterpret_cast<sockaddr_in6*>(&endpoint.storage)->sin6_port = net_port;
    else
        reinterpret_cast<sockaddr_in*>(&endpoint.storage)->sin_port = net_port;
    return endpoint;
}

enum class State { connecting, open, closed, no_answer };

struct Probe {
    int port = 0;
    course::Fd sock;
    State state = State::connecting;
    std::string reason;  // strerror of the failure, for "closed"
};

// --8<-- [start:start]
// Starts one connect() without waiting for it: the socket is non-blocking, so
// connect() returns at once, usually with EINPROGRESS ("the SYN is on its way").
void start_connect(Probe& probe, const course::Endpoint& target) {
    probe.sock = course::Fd(course::check(
        ::socket(target.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket"));
    if (::connect(probe.sock.get(), target.addr(), target.length) == 0) {
        probe.state = State::open;  // on loopback the handshake can finish at once
    } else if (errno != EINPROGRESS) {
        probe.state = State::closed;  // refused straight away (ECONNREFUSED, ENETUNREACH...)
        probe.reason = std::system_category().message(errno);
    }
}
// --8<-- [end:start]

// --8<-- [start:finish]
// Waits (up to the deadline) for the pending connects. A connecting socket
// becomes *writable* when the handshake ends, well or badly; SO_ERROR then
// holds the result: 0 for "connected", or the errno connect() would have given.
void finish_connects(std::vector<Probe>& probes, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Probe*> waiting;
        for (Probe& probe : probes) {
            if (probe.state != State::connecting) continue;
            fds.push_back({probe.sock.get(), POLLOUT, 0});
            waiting.push_back(&probe);
        }
        if (waiting.empty()) return;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;

        const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        course::check(ready, "poll");

        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            int error = 0;
            socklen_t length = sizeof error;
            course::check(::getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &error, &length),
                          "getsockopt SO_ERROR");
            waiting[i]->state = error == 0 ? State::open : State::closed;
            if (error != 0) waiting[i]->reason = std::system_category().message(error);
        }
    }
    // Whatever is still connecting got no answer at all: no SYN-ACK, no RST.
    // On the Internet that usually means a firewall dropped our SYN ("filtered").
    for (Probe& probe : probes)
        if (probe.state == State::connecting) probe.state = State::no_answer;
}
// --8<-- [end:finish]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Report which TCP ports of a host accept connections (lesson 16)."};
    std::string host = "127.0.0.1";
    std::string ports_text;
    PortRange range;
    double timeout = 1.0;
    int parallel = 100;
    bool open_only = false;
    course::add_host_option(app, host);
    app.add_option("--ports", ports_text, "Ports to check: A-B (or one port)")
        ->required()
        ->check([&range](const std::string& text) { return parse_range(text, range); });
    course::add_seconds_option(app, "--timeout", timeout, "How long to wait for each answer");
    app.add_option("--parallel", parallel, "Connects in flight at once")
        ->check(course::cli::Range(1, 1000))
        ->capture_default_str();
    app.add_flag("--open-only", open_only, "Print only the open ports");

    return course::run_main(app, argc, argv, [&] {
        const course::Endpoint base = course::resolve(host, 0, SOCK_STREAM).front();
        int open = 0, closed = 0, silent = 0;

        // Ports are checked in batches of --parallel: all of a batch's connects
        // are started at once, then one poll() loop waits for all of them.
        for (int first = range.first; first <= range.last; first += parallel) {
            const int last = std::min(range.last, first + parallel - 1);
            std::vector<Probe> probes(static_cast<std::size_t>(last - first + 1));
            for (int port = first; port <= last; ++port) {
                Probe& probe = probes[static_cast<std::size_t>(port - first)];
                probe.port = port;
                start_connect(probe, with_port(base, port));
            }
            const auto seconds = std::chrono::duration<double>(timeout);
            finish_connects(probes,
                            std::chrono::steady_clock::now() +
                                std::chrono::duration_cast<std::chrono::nanoseconds>(seconds));

            for (const Probe& probe : probes) {
                const std::string where = with_port(base, probe.port).to_string();
                switch (probe.state) {
                    case State::open:
                        ++open;
                        std::cout << where << " open\n";
                        break;
                    case State::closed:
                        ++closed;
                        if (!open_only) std::cout << where << " closed (" << probe.reason << ")\n";
                        break;
                    default:
                        ++silent;
                        if (!open_only)
                            std::cout << where << " no answer within " << timeout << " s\n";
                }
            }
            // The probes' destructors close every socket of the batch here: an
            // open port's connection is simply closed again (we never send a byte).
        }
        std::cout << "checked " << (range.last - range.first + 1) << " ports: " << open << " open, "
                  << closed << " closed, " << silent << " no answer\n";
        return 0;
    });
}
