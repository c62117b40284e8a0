// echo_connection.hpp: what the three event-loop echo servers share: one non-blocking client.
//
// select_echo_server, poll_echo_server and epoll_echo_server differ only in
// how they *wait*. What they do once a socket is ready is the same, and lives
// here: read what is there, queue it for sending back, send what the socket
// takes, and never block.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"

namespace lesson17 {

// Command-line settings every server shares.
struct Settings {
    std::size_t max_buffer = 1 << 20;  // stop reading a client with this much unsent output
    bool quiet = false;                // no connect/disconnect lines (for benchmarks)
};

inline void set_nonblocking(int fd) {
    const int flags = course::check(::fcntl(fd, F_GETFL), "fcntl F_GETFL");
    course::check(::fcntl(fd, F_SETFL, flags | O_NONBLOCK), "fcntl F_SETFL");
}

// --8<-- [start:connection]
class Connection {
  public:
    Connection(course::Fd sock, std::string peer)
        : sock_(std::move(sock)), peer_(std::move(peer)) {}

    [[nodiscard]] int fd() const { return sock_.get(); }
    [[nodiscard]] const std::string& peer() const { return peer_; }

    // Bytes received but not yet sent back.
    [[nodiscard]] std::size_t unsent() const { return output_.size() - sent_; }

    // Backpressure: a client that sends faster than it reads fills its output
    // buffer. Past the limit we stop *reading* from it, so its bytes wait in
    // the kernel's buffers, then its own send() blocks: the slow client slows
    // itself down, and our memory stays bounded. Everyone else goes on.
    [[nodiscard]] bool wants_read(const Settings& settings) const {
        return !eof_ && !broken_ && unsent() < settings.max_buffer;
    }
    [[nodiscard]] bool wants_write() const { return !broken_ && unsent() > 0; }

    // Finished: the client closed and got everything back, or the connection broke.
    [[nodiscard]] bool done() const { return broken_ || (eof_ && unsent() == 0); }

    // The socket is readable: take what is there (one recv, which cannot block)
    // into the loop's shared `scratch` buffer, and echo it. Whatever the
    // socket does not take now waits in this connection's output buffer.
    void on_readable(std::vector<char>& scratch) {
        const ssize_t n = ::recv(fd(), scratch.data(), scratch.size(), MSG_DONTWAIT);
        if (n > 0) {
            const auto got = static_cast<std::size_t>(n);
            // Nothing queued before these bytes: send them straight away (the
            // usual case). Otherwise they must wait their turn, to keep the order.
            const std::size_t went = unsent() == 0 ? send_some(scratch.data(), got) : 0;
            output_.append(scratch.data() + went, got - went);
        } else if (n == 0) {
            eof_ = true;  // the client closed its side; send back what is left, then close
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail("recv");
        }
    }

    // The socket can take bytes again: send what is queued.
    void on_writable() {
        sent_ += send_some(output_.data() + sent_, unsent());
        // Drop what was sent, so the buffer does not grow forever.
        if (sent_ == output_.size()) {
            // All sent. Give a big buffer's memory back: 10,000 idle clients
            // holding 64 KiB each would be 640 MB.
            if (output_.capacity() > 4096) std::string().swap(output_);
            output_.clear();
            sent_ = 0;
        } else if (sent_ > 64 * 1024 && sent_ > output_.size() / 2) {
            output_.erase(0, sent_);
            sent_ = 0;
        }
    }

    // What went wrong last, for the log ("recv: Connection reset by peer").
    [[nodiscard]] const std::string& error() const { return error_; }

  private:
    // Sends as much of `data` as the socket takes right now; returns how much
    // went. A partial send is normal on a non-blocking socket.
    std::size_t send_some(const char* data, std::size_t length) {
        std::size_t sent = 0;
        while (sent < length) {
            const ssize_t n = ::send(fd(), data + sent, length - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;  // the socket buffer is full: wait until it is writable again
            } else if (errno != EINTR) {
                fail("send");
                break;
            }
        }
        return sent;
    }

    void fail(const char* what) {
        broken_ = true;
        error_ = std::string(what) + ": " + std::system_category().message(errno);
    }

    course::Fd sock_;
    std::string peer_;
    std::string output_;    // received bytes, waiting to be echoed
    std::size_t sent_ = 0;  // how much of output_ is already sent
    bool eof_ = false;
    bool broken_ = false;
    std::string error_;
};
// --8<-- [end:connection]

// --8<-- [start:accept]
// Out of file descriptors (EMFILE): the waiting connection stays in the accept
// queue, so the listener stays "readable" and a naive loop would spin at 100%
// CPU calling accept() again and again. Instead we stop watching the listener
// for a moment, or until a client leaves and frees a descriptor.
class AcceptPause {
  public:
    using Clock = std::chrono::steady_clock;

    [[nodiscard]] bool active() const { return paused_ && Clock::now() < until_; }
    void start() {
        if (!paused_) std::cerr << "accept: out of file descriptors, pausing accepts\n";
        paused_ = true;
        until_ = Clock::now() + std::chrono::milliseconds(100);
    }
    void end() { paused_ = false; }

    // How long the event loop may sleep (milliseconds, -1: forever).
    [[nodiscard]] int wait_ms() const {
        if (!active()) return -1;
        auto left = std::chrono::ceil<std::chrono::milliseconds>(until_ - Clock::now());
        return left.count() > 0 ? static_cast<int>(left.count()) : 0;
    }

  private:
    bool paused_ = false;
    Clock::time_point until_{};
};

// Accepts every connection waiting on the (non-blocking) listener and hands
// each to `add` with its address. Stops at EAGAIN (queue empty) or EMFILE (pause started).
template <typename Add>
void accept_waiting(int listener, AcceptPause& pause, Add add) {
    for (int i = 0; i < 256; ++i) {  // bounded, so one busy listener cannot starve clients
        // accept4() fills in the peer's address: asking later with getpeername()
        // fails if the client has already reset the connection.
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        const int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &length,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            pause.end();
            add(course::Fd(fd), course::format_address(reinterpret_cast<sockaddr*>(&peer), length));
            continue;
        }
        if (errno == EMFILE || errno == ENFILE) {
            pause.start();
        } else if (errno == EINTR || errno == ECONNABORTED) {
            continue;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            course::throw_errno("accept");
        }
        return;
    }
}
// --8<-- [end:accept]

}  // namespace lesson17
