// The socket set-ups later lessons repeat, once the raw calls have been taught
// step by step in lessons 01-04. Each one resolves with getaddrinfo and tries
// every address found, so names, IPv4 and IPv6 all work.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "course/fd.hpp"
#include "course/io.hpp"

namespace course {

struct ListenOptions {
    int backlog = 128;          // the accept queue's length, see lesson 06
    bool reuse_address = true;  // SO_REUSEADDR, see lesson 07
};

// socket + setsockopt + bind + listen. Throws "bind HOST:PORT: Address already in use" etc.
Fd listen_tcp(const std::string& host, std::uint16_t port, ListenOptions options = {});

// socket + connect, bounded by `timeout_seconds` (negative: the OS's own limit).
// Throws "connect to HOST:PORT: Connection refused" etc.
Fd connect_tcp(const std::string& host, std::uint16_t port, double timeout_seconds = forever);

// socket + bind for UDP.
Fd bind_udp(const std::string& host, std::uint16_t port);

// The contract's readiness lines, printed to stdout and flushed only once the
// socket is ready: "listening on 127.0.0.1:8080" (TCP), "bound to ..." (UDP).
void announce_listening(int fd);
void announce_bound(int fd);

// accept() that retries EINTR/ECONNABORTED and waits (stop-aware) while nothing
// is queued. On EMFILE/ENFILE it backs off briefly instead of spinning.
Fd accept_client(int listener);

// Out of file descriptors (or memory), accept() fails but the client stays
// queued, so the listener stays "readable" and a loop that retries at once
// spins at 100% CPU. An AcceptBackoff says until when to leave it alone.
class AcceptBackoff {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds pause{100};

    // A rest from now on, after accept() failed with `error`; the first of a
    // run of failures is logged ("accept: Too many open files, backing off 100 ms").
    void start(int error);
    [[nodiscard]] bool resting() const { return Clock::now() < until_; }
    [[nodiscard]] Clock::time_point until() const { return until_; }
    // How long a poll() may wait for the rest to end, in ms; -1 when not resting.
    [[nodiscard]] int wait_ms() const;

  private:
    Clock::time_point until_{};
};

// One accept4() (SOCK_CLOEXEC) on a listener that poll() called readable; the
// client's address goes to `address` and `length` when given. Retries EINTR and
// ECONNABORTED (the client gave up while queued). Returns an empty Fd when
// there is nothing to take now: the queue is empty (EAGAIN, EPROTO), or the
// process is out of descriptors or memory, which starts `backoff`.
Fd accept_or_back_off(int listener, AcceptBackoff& backoff, sockaddr* address = nullptr,
                      socklen_t* length = nullptr);

// A thread-per-client server holds one descriptor per client, and the usual
// soft limit (1024) would cap it at about a thousand clients.
struct FdLimit {
    std::uint64_t before = 0;
    std::uint64_t after = 0;
};

// Raises this process's RLIMIT_NOFILE soft limit to its hard limit; returns both.
FdLimit raise_fd_limit();

// raise_fd_limit(), then one line on stderr saying what it did.
void raise_fd_limit_and_say_so();

}  // namespace course
