// timeout_client: a reply, a timeout and a closed connection: three outcomes of recv().
//
//   printf 'hello\n' | timeout_client --timeout 2                 SO_RCVTIMEO (the default)
//   printf 'hello\n' | timeout_client --timeout 2 --mode poll     poll() with a timeout
//
// Like Python's s.settimeout(2): recv() that waits longer raises socket.timeout,
// while a closed connection makes recv() return b"".
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cmath>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/text.hpp"

namespace {

enum class Outcome { reply, closed, timed_out };

// --8<-- [start:rcvtimeo]
// Way 1: SO_RCVTIMEO. The socket stays blocking, but a recv() that waited this
// long gives up with -1 and errno EAGAIN (also spelled EWOULDBLOCK). This is
// what Python's settimeout() does for you, plus the exception.
void set_receive_timeout(int fd, double seconds) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(seconds);
    tv.tv_usec = static_cast<suseconds_t>(std::lround((seconds - std::floor(seconds)) * 1e6));
    // A zero timeval means "wait forever" to the kernel, the opposite of what
    // --timeout 0 asks for: use the shortest wait there is instead.
    if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;
    course::check(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
                  "setsockopt SO_RCVTIMEO");
}

Outcome recv_with_rcvtimeo(int fd, std::vector<char>& buffer, std::size_t& got) {
    for (;;) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n > 0) {
            got = static_cast<std::size_t>(n);
            return Outcome::reply;
        }
        if (n == 0) return Outcome::closed;  // the peer's FIN: an orderly close
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome::timed_out;
        if (errno == ECONNRESET) return Outcome::closed;  // closed, and it said so with a RST
        if (errno != EINTR) course::throw_errno("recv");
    }
}
// --8<-- [end:rcvtimeo]

// --8<-- [start:poll]
// Way 2: poll() with a timeout, then a recv() that cannot block. poll()
// returning 0 is the timeout; "readable" means data *or* the close is there,
// and the recv() tells which.
Outcome recv_with_poll(int fd, double seconds, std::vector<char>& buffer, std::size_t& got) {
    pollfd wanted{fd, POLLIN, 0};
    int ready = 0;
    do {  // EINTR: a signal interrupted the wait; wait again (a shorter wait would be exact)
        ready = ::poll(&wanted, 1, static_cast<int>(std::ceil(seconds * 1000)));
    } while (ready < 0 && errno == EINTR);
    course::check(ready, "poll");
    if (ready == 0) return Outcome::timed_out;

    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0 && errno == ECONNRESET) return Outcome::closed;
    if (n < 0) course::throw_errno("recv");
    got = static_cast<std::size_t>(n);
    return n == 0 ? Outcome::closed : Outcome::reply;
}
// --8<-- [end:poll]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Send each stdin line and wait at most --timeout for its reply (lesson 16)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8016;
    double timeout = 5.0;
    std::string mode = "rcvtimeo";
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout, "Longest wait for a reply");
    app.add_option("--mode", mode, "How to wait: rcvtimeo (SO_RCVTIMEO) or poll")
        ->check(course::cli::IsMember({"rcvtimeo", "poll"}))
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&] {
        // connect() is bounded too: course::connect_tcp does the non-blocking
        // connect + poll + SO_ERROR dance that port_check shows step by step.
        course::Fd sock = course::connect_tcp(host, port, timeout);
        if (mode == "rcvtimeo") set_receive_timeout(sock.get(), timeout);

        std::vector<char> buffer(4096);
        while (auto message = course::read_message()) {
            try {
                course::send_all(sock.get(), *message);
            } catch (const std::system_error& e) {
                // The server hung up before we wrote: EPIPE or ECONNRESET.
                if (e.code().value() != EPIPE && e.code().value() != ECONNRESET) throw;
                std::cerr << "server closed the connection\n";
                return 0;
            }

            std::size_t got = 0;
            const Outcome outcome = mode == "rcvtimeo"
                                        ? recv_with_rcvtimeo(sock.get(), buffer, got)
                                        : recv_with_poll(sock.get(), timeout, buffer, got);
            switch (outcome) {
                case Outcome::reply:
                    std::cout << course::escape_invalid_utf8({buffer.data(), got}) << '\n';
                    break;
                case Outcome::closed:
                    // Not an error: the server decided to end the conversation.
                    std::cerr << "server closed the connection\n";
                    return 0;
                case Outcome::timed_out:
                    // The connection is still open; the server just has not
                    // answered yet. We give up, and the job is not done: exit 1.
                    std::cerr << "error: no reply within " << timeout
                              << " s (timed out; the connection was still open)\n";
                    return 1;
            }
        }
        return 0;
    });
}
