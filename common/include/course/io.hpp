// Waiting, receiving and sending on sockets: EINTR-safe, SIGPIPE-safe, and
// interruptible by SIGINT/SIGTERM once install_stop_handlers() ran (the wait
// then throws course::StopRequested).
//
// Timeouts are in seconds (fractions allowed); a negative timeout waits forever.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace course {

inline constexpr double forever = -1.0;

// Waits until `fd` is readable (data, EOF or an error to collect).
// Returns false on timeout.
bool wait_readable(int fd, double timeout_seconds = forever);

// Waits until `fd` can take more bytes. Returns false on timeout.
bool wait_writable(int fd, double timeout_seconds = forever);

// The wait behind the two above, for loops of one's own: poll() for `events`
// on `fd`, and on the stop pipe and `cancel_fd` (an eventfd; -1: none), either
// of which throws StopRequested. Returns fd's revents; 0 on timeout.
short wait_for(int fd, short events, double timeout_seconds = forever, int cancel_fd = -1);

// One recv() of up to `capacity` bytes, after waiting for data.
// Returns 0 when the peer closed the connection; throws on errors.
std::size_t recv_some(int fd, void* buffer, std::size_t capacity);

// Reads exactly `length` bytes. Returns false if the peer closed cleanly before
// the first byte; throws ProtocolError if it closed part-way, and
// std::system_error(ETIMEDOUT) when one wait for data exceeds `timeout_seconds`.
bool recv_exact(int fd, void* buffer, std::size_t length, double timeout_seconds = forever);

// Sends every byte, looping over short sends (what Python calls sendall).
// Throws std::system_error on failure (EPIPE/ECONNRESET when the peer went away).
void send_all(int fd, const void* data, std::size_t length);
inline void send_all(int fd, std::string_view data) {
    send_all(fd, data.data(), data.size());
}

}  // namespace course
