#include "course/net.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <iostream>
#include <system_error>
#include <thread>

#include "course/address.hpp"
#include "course/error.hpp"

namespace course {

namespace {

// Runs `attempt` on every endpoint until one succeeds; rethrows the last failure.
template <typename Attempt>
Fd first_that_works(const std::vector<Endpoint>& endpoints, Attempt attempt) {
    std::exception_ptr last_error;
    for (const Endpoint& endpoint : endpoints) {
        try {
            return attempt(endpoint);
        } catch (const std::system_error&) {
            last_error = std::current_exception();
        }
    }
    std::rethrow_exception(last_error);  // resolve() never returns an empty list
}

Fd open_socket(const Endpoint& endpoint) {
    return Fd(check(::socket(endpoint.family, endpoint.socktype | SOCK_CLOEXEC, endpoint.protocol),
                    "socket"));
}

void set_nonblocking(int fd, bool on) {
    int flags = check(::fcntl(fd, F_GETFL), "fcntl F_GETFL");
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    check(::fcntl(fd, F_SETFL, flags), "fcntl F_SETFL");
}

}  // namespace

Fd listen_tcp(const std::string& host, std::uint16_t port, ListenOptions options) {
    return first_that_works(resolve(host, port, SOCK_STREAM, true), [&](const Endpoint& e) {
        Fd fd = open_socket(e);
        if (options.reuse_address) {
            int on = 1;
            check(::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                  "setsockopt SO_REUSEADDR");
        }
        check(::bind(fd.get(), e.addr(), e.length), "bind " + e.to_string());
        check(::listen(fd.get(), options.backlog), "listen");
        return fd;
    });
}

Fd connect_tcp(const std::string& host, std::uint16_t port, double timeout_seconds) {
    return first_that_works(resolve(host, port, SOCK_STREAM), [&](const Endpoint& e) {
        Fd fd = open_socket(e);
        const std::string what = "connect to " + e.to_string();
        // A non-blocking connect lets us bound the wait (and notice Ctrl-C).
        set_nonblocking(fd.get(), true);
        if (::connect(fd.get(), e.addr(), e.length) < 0) {
            if (errno != EINPROGRESS) throw_errno(what);
            if (!wait_writable(fd.get(), timeout_seconds))
                throw std::system_error(ETIMEDOUT, std::generic_category(), what);
            int error = 0;
            socklen_t length = sizeof error;
            check(::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length), "getsockopt");
            if (error != 0) throw std::system_error(error, std::generic_category(), what);
        }
        set_nonblocking(fd.get(), false);
        return fd;
    });
}

Fd bind_udp(const std::string& host, std::uint16_t port) {
    return first_that_works(resolve(host, port, SOCK_DGRAM, true), [&](const Endpoint& e) {
        Fd fd = open_socket(e);
        check(::bind(fd.get(), e.addr(), e.length), "bind " + e.to_string());
        return fd;
    });
}

void announce_listening(int fd) {
    std::cout << "listening on " << local_address(fd) << std::endl;
}

void announce_bound(int fd) {
    std::cout << "bound to " << local_address(fd) << std::endl;
}

Fd accept_client(int listener) {
    AcceptBackoff backoff;
    for (;;) {
        if (backoff.resting()) std::this_thread::sleep_until(backoff.until());
        wait_readable(listener);
        if (Fd client = accept_or_back_off(listener, backoff)) return client;
    }
}

void AcceptBackoff::start(int error) {
    const auto now = Clock::now();
    if (now >= until_ + pause)  // not resting a moment ago: a new run of failures
        std::cerr << ("accept: " + std::system_category().message(error) + ", backing off " +
                      std::to_string(pause.count()) + " ms\n")
                  << std::flush;  // one write: lines from many threads do not interleave
    until_ = now + pause;
}

int AcceptBackoff::wait_ms() const {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until_ - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : -1;
}

Fd accept_or_back_off(int listener, AcceptBackoff& backoff, sockaddr* address, socklen_t* length) {
    const socklen_t capacity = length != nullptr ? *length : 0;
    for (;;) {
        if (length != nullptr) *length = capacity;  // accept4() shrinks it to the address's size
        const int fd = ::accept4(listener, address, length, SOCK_CLOEXEC);
        if (fd >= 0) return Fd(fd);
        switch (errno) {
            case EINTR:
            case ECONNABORTED:  // the client gave up while queued: take the next one
                continue;
            case EAGAIN:  // nobody there after all
            case EPROTO:
                return {};
            case EMFILE:
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                backoff.start(errno);
                return {};
            default:
                throw_errno("accept");
        }
    }
}

FdLimit raise_fd_limit() {
    rlimit limit{};
    check(::getrlimit(RLIMIT_NOFILE, &limit), "getrlimit RLIMIT_NOFILE");
    FdLimit result{limit.rlim_cur, limit.rlim_cur};
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) result.after = limit.rlim_cur;
    }
    return result;
}

void raise_fd_limit_and_say_so() {
    const FdLimit limit = raise_fd_limit();
    std::string line;
    if (limit.after > limit.before)
        line = "raised the open-file limit (RLIMIT_NOFILE) from " + std::to_string(limit.before) +
               " to " + std::to_string(limit.after) + ": one descriptor per client\n";
    else
        line = "open-file limit (RLIMIT_NOFILE) is " + std::to_string(limit.after) +
               " (already the hard limit)\n";
    std::cerr << line << std::flush;  // one write: it never interleaves with other threads' lines
}

}  // namespace course
