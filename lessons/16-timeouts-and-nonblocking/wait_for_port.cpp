// wait_for_port: exercise 16.1 -- knock until a server opens its port, within one deadline.
//
// A script that starts a server and then uses it has a race: the server needs
// a moment before it listens. `sleep 1` is too short on a slow machine and too
// long everywhere else. This tool knocks instead: it tries to connect; while
// the answer is "connection refused" (nobody listens yet) it sleeps a little
// and tries again, until the port opens or --timeout seconds have passed.
//
// The whole job has ONE deadline. Every wait, the connect()'s handshake and
// the sleep between attempts alike, gets only the time that is left, so the
// tool never overruns --timeout, even against a host that never answers.
//
//   wait_for_port --port 8016 --timeout 5 && timeout_client --port 8016
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"

using Clock = std::chrono::steady_clock;

// Milliseconds from now until `deadline`, rounded up (poll() wants an int); 0
// once it has passed.
int ms_until(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 24LL * 3600 * 1000));
}

// --8<-- [start:attempt]
// One connection attempt to `target` that never waits past `deadline`.
// Returns 0 when the server completed the handshake, or the errno the attempt
// failed with: ECONNREFUSED (nobody listens there yet), ETIMEDOUT (the
// deadline came before any answer), ... Python's socket.connect_ex() also
// returns an error number instead of raising; that is where the name comes from.
int connect_ex(const course::Endpoint& target, Clock::time_point deadline) {
    // Exercise 16.1: make a non-blocking socket, start connect(), and when it
    // says EINPROGRESS wait with poll() for POLLOUT, at most ms_until(deadline);
    // then SO_ERROR tells how the handshake ended. port_check.cpp does the same
    // for many ports at once.
    // BEGIN SOLUTION 16.1
    // SOCK_NONBLOCK: connect() cannot block; it starts the handshake and returns.
    const int fd = ::socket(target.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) course::throw_errno("socket");
    course::Fd sock(fd);  // closed when we return, whatever happens

    if (::connect(sock.get(), target.addr(), target.length) == 0)
        return 0;                            // loopback can finish the handshake at once
    if (errno != EINPROGRESS) return errno;  // failed straight away (refused, unreachable...)

    // The SYN is on its way. The socket becomes writable when the handshake
    // ends, well or badly; poll() returning 0 means the deadline came first.
    pollfd handshake{sock.get(), POLLOUT, 0};
    for (;;) {
        const int ready = ::poll(&handshake, 1, ms_until(deadline));
        if (ready > 0) break;
        if (ready == 0) return ETIMEDOUT;
        if (errno != EINTR) course::throw_errno("poll");  // EINTR: wait again, for what is left
    }

    // How did it end? SO_ERROR holds what a blocking connect() would have returned.
    int outcome = 0;
    socklen_t outcome_size = sizeof outcome;
    if (::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &outcome, &outcome_size) < 0)
        course::throw_errno("getsockopt SO_ERROR");
    return outcome;  // 0: connected
    // BEGIN STUB
    // static_cast<void>(target);  // unused until you write the attempt
    // static_cast<void>(deadline);
    // return ECONNREFUSED;  // "nobody listens": the tool knocks until --timeout
    // END STUB
    // END SOLUTION
}
// --8<-- [end:attempt]

std::string seconds_text(double seconds) {
    std::ostringstream text;
    text << seconds;  // 0.5 -> "0.5", 3 -> "3"
    return text.str();
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Wait until a TCP port accepts connections, at most --timeout (lesson 16, "
        "exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8016;
    double timeout = 10.0;
    double interval = 0.1;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout, "Give up after this long, in all");
    course::add_seconds_option(app, "--interval", interval,
                               "Pause between a refused attempt and the next one");

    return course::run_main(app, argc, argv, [&] {
        // --8<-- [start:loop]
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(timeout));
        const auto pause =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
        // Resolved once: a name with several addresses (localhost: ::1 and
        // 127.0.0.1) is tried address by address in every round.
        const std::vector<course::Endpoint> targets = course::resolve(host, port, SOCK_STREAM);

        for (long attempts = 1;; ++attempts) {
            for (const course::Endpoint& target : targets) {
                const int error = connect_ex(target, deadline);
                if (error == 0) {
                    std::cout << "port " << port << " is open after " << attempts
                              << (attempts == 1 ? " attempt" : " attempts") << '\n';
                    return 0;
                }
                // Refused: not yet. Timed out: the deadline decides below.
                // Anything else (no route to the host, ...) will not get better.
                if (error != ECONNREFUSED && error != ETIMEDOUT)
                    throw std::system_error(error, std::generic_category(),
                                            "connect to " + target.to_string());
            }
            const auto now = Clock::now();
            if (now >= deadline)
                throw std::system_error(ETIMEDOUT, std::generic_category(),
                                        host + " port " + std::to_string(port) +
                                            " did not open within " + seconds_text(timeout) +
                                            " s (" + std::to_string(attempts) + " attempts)");
            std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
        }
        // --8<-- [end:loop]
    });
}
