#include "course/io.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <string>
#include <system_error>

#include "course/error.hpp"
#include "course/signals.hpp"

namespace course {

namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(double seconds) {
    std::ostringstream text;
    text << seconds << " s";
    return text.str();
}

}  // namespace

short wait_for(int fd, short events, double timeout_seconds, int cancel_fd) {
    const bool forever_wait = timeout_seconds < 0;
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(forever_wait ? 0.0 : timeout_seconds));
    for (;;) {
        throw_if_stop_requested();
        int wait_ms = -1;
        if (!forever_wait) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            wait_ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
        }
        // poll() skips a negative fd: no stop pipe (no handlers installed), no cancel_fd.
        pollfd fds[3] = {{fd, events, 0}, {stop_fd(), POLLIN, 0}, {cancel_fd, POLLIN, 0}};
        int ready = ::poll(fds, 3, wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (fds[1].revents != 0 || fds[2].revents != 0) throw StopRequested{};
        if (fds[0].revents != 0) return fds[0].revents;  // ready, or an error the next call reports
        if (ready == 0 && !forever_wait && Clock::now() >= deadline) return 0;
    }
}

bool wait_readable(int fd, double timeout_seconds) {
    return wait_for(fd, POLLIN, timeout_seconds) != 0;
}

bool wait_writable(int fd, double timeout_seconds) {
    return wait_for(fd, POLLOUT, timeout_seconds) != 0;
}

std::size_t recv_some(int fd, void* buffer, std::size_t capacity) {
    for (;;) {
        wait_readable(fd);
        ssize_t n = ::recv(fd, buffer, capacity, MSG_DONTWAIT);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        throw_errno("recv");
    }
}

bool recv_exact(int fd, void* buffer, std::size_t length, double timeout_seconds) {
    auto* bytes = static_cast<char*>(buffer);
    std::size_t got = 0;
    while (got < length) {
        // A bounded wait first; recv_some() itself would wait without a limit.
        if (timeout_seconds >= 0 && !wait_readable(fd, timeout_seconds))
            throw std::system_error(ETIMEDOUT, std::generic_category(),
                                    "no data from the peer for " + seconds_text(timeout_seconds));
        const std::size_t n = recv_some(fd, bytes + got, length - got);
        if (n == 0) {
            if (got == 0) return false;
            throw ProtocolError("connection closed after " + std::to_string(got) + " of " +
                                std::to_string(length) + " bytes");
        }
        got += n;
    }
    return true;
}

void send_all(int fd, const void* data, std::size_t length) {
    const auto* bytes = static_cast<const char*>(data);
    while (length > 0) {
        // MSG_NOSIGNAL: a vanished peer gives EPIPE, never a fatal SIGPIPE.
        // MSG_DONTWAIT: when the socket buffer is full we wait in poll(), where
        // a stop request can reach us, instead of blocking inside send().
        ssize_t n = ::send(fd, bytes, length, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            bytes += n;
            length -= static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wait_writable(fd);
        } else if (errno != EINTR) {
            throw_errno("send");
        }
    }
}

}  // namespace course
