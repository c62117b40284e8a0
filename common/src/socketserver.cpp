#include "course/socketserver.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iostream>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/error.hpp"
#include "course/signals.hpp"

namespace course::socketserver {

namespace {

using Clock = std::chrono::steady_clock;

// How long accept() rests when the process is out of descriptors.
constexpr auto out_of_fds_backoff = std::chrono::milliseconds(100);

Fd make_eventfd() {
    return Fd(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"));
}

void signal_eventfd(int fd) noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(fd, &one, sizeof one);  // counter full: still readable
}

Address endpoint_address(const Endpoint& endpoint) {
    Address address;
    std::memcpy(&address.storage, &endpoint.storage, sizeof address.storage);
    address.length = endpoint.length;
    return address;
}

std::uint16_t port_of(const Address& address) {
    if (address.family() == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_port);
    if (address.family() == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_port);
    return 0;
}

// "<what>" of the exception being handled, for a log line.
std::string current_error_text() {
    if (auto error = std::current_exception()) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            return e.what();
        } catch (...) {
            return "an exception that is not a std::exception";
        }
    }
    return "unknown error";
}

// One line to stderr in one write, so lines from many threads do not interleave.
void log_line(const std::string& line) {
    std::cerr << (line + '\n') << std::flush;
}

}  // namespace

// ---------------------------------------------------------------------------

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
    if (limit.after > limit.before)
        log_line("raised the open-file limit (RLIMIT_NOFILE) from " + std::to_string(limit.before) +
                 " to " + std::to_string(limit.after) + ": one descriptor per client");
    else
        log_line("open-file limit (RLIMIT_NOFILE) is " + std::to_string(limit.after) +
                 " (already the hard limit)");
}

std::string Address::to_string() const {
    if (family() == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
        const auto header = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
        if (length <= header || un->sun_path[0] == '\0') return "unix:(unnamed)";
        return "unix:" + std::string(un->sun_path, ::strnlen(un->sun_path, length - header));
    }
    if (length == 0) return "(unknown)";
    return format_address(addr(), length);
}

short wait_for(int fd, short events, int cancel_fd, double timeout_seconds) {
    const bool forever_wait = timeout_seconds < 0;
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(forever_wait ? 0.0 : timeout_seconds));
    for (;;) {
        throw_if_stop_requested();
        int wait_ms = -1;
        if (!forever_wait) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0)
                throw std::system_error(ETIMEDOUT, std::generic_category(), "wait");
            wait_ms = static_cast<int>(left.count());
        }
        // A negative fd in a pollfd is skipped by poll(): no stop pipe, no cancel fd.
        pollfd fds[3] = {{fd, events, 0}, {stop_fd(), POLLIN, 0}, {cancel_fd, POLLIN, 0}};
        if (::poll(fds, 3, wait_ms) < 0) {
            if (errno == EINTR) continue;  // a signal that is not ours: keep waiting
            throw_errno("poll");
        }
        if (fds[1].revents != 0 || fds[2].revents != 0) throw StopRequested{};
        if (fds[0].revents != 0) return fds[0].revents;
    }
}

// ---------------------------------------------------------------------------
// Handlers

void BaseRequestHandler::run() {
    setup();
    try {
        handle();
    } catch (...) {
        finish();  // Python's try/finally: finish() runs, and the error goes on up
        throw;
    }
    finish();
}

bool StreamRequestHandler::fill() {
    // Keep the buffer from creeping: drop what was already handed out.
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    // Wait first, then recv(): one poll() and one recv() per message, as
    // course::recv_some does. The chunk lives on the stack, so an idle client
    // costs no buffer memory (10,000 idle clients would otherwise hold 160 MiB).
    char chunk[16 * 1024];
    for (;;) {
        wait_for(socket(), POLLIN, server.cancel_fd(), timeout);
        ssize_t n = ::recv(socket(), chunk, sizeof chunk, MSG_DONTWAIT);
        if (n >= 0) {
            buffer_.append(chunk, static_cast<std::size_t>(n));
            return n > 0;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) throw_errno("recv");
    }
}

std::string StreamRequestHandler::readline(std::size_t limit) {
    std::size_t scanned = 0;  // bytes already searched for '\n'
    for (;;) {
        const std::string_view pending(buffer_.data() + start_, buffered());
        const std::string_view window = pending.substr(0, limit);
        const auto newline = window.find('\n', scanned);
        if (newline != std::string_view::npos || window.size() == limit) {
            const std::size_t take = newline != std::string_view::npos ? newline + 1 : limit;
            std::string line(pending.substr(0, take));
            start_ += take;
            return line;
        }
        scanned = window.size();
        if (!fill()) {  // EOF: whatever is left, possibly nothing
            std::string rest(buffer_.data() + start_, buffered());
            start_ = buffer_.size();
            return rest;
        }
    }
}

std::size_t StreamRequestHandler::read_into(std::span<char> out) {
    if (out.empty()) return 0;
    if (buffered() == 0) {
        // Nothing buffered: straight from the socket into the caller's buffer
        // (the echo server's hot path: one poll(), one recv(), one send() per
        // message, no allocation, no memory held while idle).
        for (;;) {
            wait_for(socket(), POLLIN, server.cancel_fd(), timeout);
            ssize_t n = ::recv(socket(), out.data(), out.size(), MSG_DONTWAIT);
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) throw_errno("recv");
        }
    }
    const std::size_t take = std::min(out.size(), buffered());
    std::memcpy(out.data(), buffer_.data() + start_, take);
    start_ += take;
    return take;
}

std::string StreamRequestHandler::read_some(std::size_t limit) {
    char chunk[16 * 1024];  // on the stack: an idle client holds no buffer
    const std::size_t n = read_into(std::span<char>(chunk, std::min(limit, sizeof chunk)));
    return std::string(chunk, n);
}

void StreamRequestHandler::write(std::string_view bytes) {
    while (!bytes.empty()) {
        // MSG_NOSIGNAL: a vanished peer gives EPIPE, not SIGPIPE. MSG_DONTWAIT:
        // a full socket buffer is waited for in poll(), where a stop reaches us.
        ssize_t n = ::send(socket(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wait_for(socket(), POLLOUT, server.cancel_fd(), timeout);
        } else if (errno != EINTR) {
            throw_errno("send");
        }
    }
}

std::string DatagramRequestHandler::readline() {
    const std::string& data = request.data;
    if (read_position_ >= data.size()) return {};
    auto newline = data.find('\n', read_position_);
    const std::size_t end = newline == std::string::npos ? data.size() : newline + 1;
    std::string line = data.substr(read_position_, end - read_position_);
    read_position_ = end;
    return line;
}

std::string DatagramRequestHandler::read_all() {
    std::string rest = request.data.substr(std::min(read_position_, request.data.size()));
    read_position_ = request.data.size();
    return rest;
}

void DatagramRequestHandler::finish() {
    // Like Python: the reply goes back even when it is empty (an empty datagram is one).
    for (;;) {
        ssize_t n = ::sendto(request.socket, reply_.data(), reply_.size(), MSG_NOSIGNAL,
                             client_address.addr(), client_address.length);
        if (n >= 0) return;
        if (errno != EINTR) throw_errno("sendto " + client_address.to_string());
    }
}

// ---------------------------------------------------------------------------
// BaseServer

BaseServer::BaseServer(HandlerFactory factory, Options options)
    : options(options),
      factory_(std::move(factory)),
      wake_(make_eventfd()),
      cancel_(make_eventfd()) {}

BaseServer::~BaseServer() {
    // Only this class's own resources: a subclass's destructor already ran its
    // own server_close(). The Fd members close themselves.
    shutdown_flag_.store(true);
}

void BaseServer::serve_forever() {
    {
        std::lock_guard lock(serving_mutex_);
        serving_ = true;
        serving_thread_ = std::this_thread::get_id();
    }
    struct ServingGuard {  // whatever happens, shutdown() stops waiting for us
        BaseServer& server;
        ~ServingGuard() {
            {
                std::lock_guard lock(server.serving_mutex_);
                server.serving_ = false;
                server.serving_thread_ = {};
            }
            server.serving_changed_.notify_all();
        }
    } guard{*this};

    try {
        while (!shutdown_flag_.load() && !stop_requested()) {
            // Out of descriptors a moment ago? Then leave the listener out of
            // this poll() and come back to it after a short rest.
            int wait_ms = -1;
            const auto now = Clock::now();
            const bool resting = now < backoff_until_;
            if (resting)
                wait_ms = static_cast<int>(
                    std::chrono::ceil<std::chrono::milliseconds>(backoff_until_ - now).count());

            pollfd fds[3] = {{wake_.get(), POLLIN, 0},
                             {stop_fd(), POLLIN, 0},
                             {resting ? -1 : socket_.get(), POLLIN, 0}};
            if (::poll(fds, 3, wait_ms) < 0) {
                if (errno == EINTR) continue;  // a signal is not a reason to stop serving
                throw_errno("poll");
            }
            if (fds[0].revents != 0 || fds[1].revents != 0) break;  // shutdown() or SIGTERM
            // Several clients may be queued (a burst): take up to a few dozen
            // per wake-up instead of one poll() per accept().
            for (int taken = 0; fds[2].revents != 0 && taken < 64 && !shutdown_flag_.load();
                 ++taken)
                if (!handle_request_noblock()) break;
            service_actions();
        }
    } catch (const StopRequested&) {
        // A handler in this thread saw SIGINT/SIGTERM: that ends serving, quietly.
    }
}

void BaseServer::handle_request() {
    if (shutdown_flag_.load()) return;
    pollfd fds[3] = {{wake_.get(), POLLIN, 0}, {stop_fd(), POLLIN, 0}, {socket_.get(), POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 3, -1) >= 0) break;
        if (errno != EINTR) throw_errno("poll");
    }
    if (fds[0].revents != 0 || fds[1].revents != 0) return;
    (void)handle_request_noblock();
    service_actions();
}

void BaseServer::shutdown() {
    shutdown_flag_.store(true);
    signal_eventfd(wake_.get());
    std::unique_lock lock(serving_mutex_);
    if (serving_thread_ == std::this_thread::get_id()) return;  // a handler of a plain server
    serving_changed_.wait(lock, [this] { return !serving_; });
}

void BaseServer::cancel_handlers() {
    signal_eventfd(cancel_.get());
}

void BaseServer::server_close() {
    socket_.reset();
}

bool BaseServer::handle_request_noblock() {
    Request request;
    try {
        if (!get_request(request)) return false;
    } catch (const std::system_error& e) {
        // Python: "except OSError: return". Say so, then keep serving.
        log_line(std::string("error: ") + e.what());
        return false;
    }
    try {
        if (verify_request(request))
            process_request(request);
        else
            shutdown_request(request);
    } catch (const StopRequested&) {
        shutdown_request(request);
        throw;
    } catch (...) {
        report_error(request);
        shutdown_request(request);
    }
    return true;
}

void BaseServer::process_request(Request& request) {
    finish_request(request);
    shutdown_request(request);
}

void BaseServer::finish_request(Request& request) {
    factory_(request, *this)->run();
}

void BaseServer::shutdown_request(Request& request) {
    if (!request.connection) return;
    // Python's shutdown_request: "explicitly shutdown. socket.close() merely
    // releases the socket and waits for GC to perform the actual close."
    // SHUT_WR sends our FIN now, even if another descriptor still refers to it.
    ::shutdown(request.connection.get(), SHUT_WR);
    request.connection.reset();
}

void BaseServer::handle_error(Request& request) {
    log_line("error: handler for " + request.client.to_string() + ": " + current_error_text());
}

void BaseServer::report_error(Request& request) noexcept {
    try {
        handle_error(request);
    } catch (...) {
        try {
            log_line("error: handle_error itself failed: " + current_error_text());
        } catch (...) {  // out of memory while logging: nothing more to do
        }
    }
}

void BaseServer::finish_and_shutdown(Request& request) noexcept {
    try {
        finish_request(request);
    } catch (const StopRequested&) {
        // Stopping is not an error: the connection just ends.
    } catch (...) {
        report_error(request);
    }
    try {
        shutdown_request(request);
    } catch (...) {
        report_error(request);
    }
}

void BaseServer::record_address() {
    server_address_ = Address{};
    server_address_.length = sizeof server_address_.storage;
    check(::getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&server_address_.storage),
                        &server_address_.length),
          "getsockname");
}

// ---------------------------------------------------------------------------
// TCPServer

TCPServer::TCPServer(const std::string& host, std::uint16_t port, HandlerFactory factory,
                     Options options)
    : BaseServer(std::move(factory), options) {
    const Endpoint endpoint = resolve(host, port, SOCK_STREAM, true).front();
    bind_to_ = endpoint_address(endpoint);
    // Non-blocking: accept() is only called once poll() said "readable", but
    // the client may have given up meanwhile, and then accept() must not block.
    socket_ = Fd(
        check(::socket(endpoint.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket"));
    if (options.bind_and_activate) {
        TCPServer::server_bind();  // if these throw, the Fd members close themselves
        TCPServer::server_activate();
    }
}

TCPServer::TCPServer(Fd socket, HandlerFactory factory, Options options)
    : BaseServer(std::move(factory), options) {
    socket_ = std::move(socket);
}

void TCPServer::server_bind() {
    if (options.allow_reuse_address) {
        int on = 1;
        check(::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
              "setsockopt SO_REUSEADDR");
    }
    check(::bind(socket_.get(), bind_to_.addr(), bind_to_.length), "bind " + bind_to_.to_string());
    record_address();  // the real port, when 0 asked the OS to pick one
}

void TCPServer::server_activate() {
    check(::listen(socket_.get(), options.request_queue_size), "listen");
}

std::uint16_t TCPServer::port() const {
    return port_of(server_address_);
}

bool TCPServer::get_request(Request& request) {
    for (;;) {
        request.client = Address{};
        request.client.length = sizeof request.client.storage;
        int fd = ::accept4(socket_.get(), reinterpret_cast<sockaddr*>(&request.client.storage),
                           &request.client.length, SOCK_CLOEXEC);
        if (fd >= 0) {
            request.connection = Fd(fd);
            return true;
        }
        switch (errno) {
            case EINTR:
            case ECONNABORTED:  // the client gave up while queued: take the next one
                continue;
            case EAGAIN:  // nobody there after all
            case EPROTO:
                return false;
            case EMFILE:
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                // The connection stays queued and poll() keeps saying "readable":
                // rest a moment instead of spinning at 100% CPU.
                if (Clock::now() >= backoff_until_ + out_of_fds_backoff)  // once per episode
                    log_line("accept: " + std::system_category().message(errno) + ", backing off " +
                             std::to_string(out_of_fds_backoff.count()) + " ms");
                backoff_until_ = Clock::now() + out_of_fds_backoff;
                return false;
            default:
                throw_errno("accept");
        }
    }
}

// ---------------------------------------------------------------------------
// UnixStreamServer

namespace {

Address unix_address(const std::string& path) {
    Address address;
    auto* un = reinterpret_cast<sockaddr_un*>(&address.storage);
    un->sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof un->sun_path)
        throw std::system_error(ENAMETOOLONG, std::generic_category(), "unix socket path " + path);
    std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
    address.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return address;
}

}  // namespace

UnixStreamServer::UnixStreamServer(const std::string& path, HandlerFactory factory, Options options)
    : TCPServer(
          Fd(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket")),
          std::move(factory), options),
      path_(path) {
    bind_to_ = unix_address(path);
    if (options.bind_and_activate) {
        // Same steps as TCPServer: SO_REUSEADDR means nothing for a path, and
        // bind() fails with "Address already in use" if the file exists.
        check(::bind(socket_.get(), bind_to_.addr(), bind_to_.length), "bind unix:" + path);
        bound_ = true;
        record_address();
        TCPServer::server_activate();
    }
}

void UnixStreamServer::server_close() {
    TCPServer::server_close();
    if (bound_) {
        ::unlink(path_.c_str());  // the socket file would otherwise block the next bind
        bound_ = false;
    }
}

// ---------------------------------------------------------------------------
// UDPServer

UDPServer::UDPServer(const std::string& host, std::uint16_t port, HandlerFactory factory,
                     Options options)
    : BaseServer(std::move(factory), options) {
    const Endpoint endpoint = resolve(host, port, SOCK_DGRAM, true).front();
    bind_to_ = endpoint_address(endpoint);
    socket_ = Fd(
        check(::socket(endpoint.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket"));
    if (options.bind_and_activate) {
        UDPServer::server_bind();
        server_activate();  // nothing to do for UDP: no listen()
    }
}

void UDPServer::server_bind() {
    if (options.allow_reuse_address) {
        int on = 1;
        check(::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
              "setsockopt SO_REUSEADDR");
    }
    check(::bind(socket_.get(), bind_to_.addr(), bind_to_.length), "bind " + bind_to_.to_string());
    record_address();
}

std::uint16_t UDPServer::port() const {
    return port_of(server_address_);
}

bool UDPServer::get_request(Request& request) {
    request.data.resize(options.max_packet_size);
    request.socket = socket_.get();
    for (;;) {
        request.client = Address{};
        request.client.length = sizeof request.client.storage;
        ssize_t n = ::recvfrom(socket_.get(), request.data.data(), request.data.size(),
                               MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&request.client.storage),
                               &request.client.length);
        if (n >= 0) {
            request.data.resize(static_cast<std::size_t>(n));
            return true;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED) return false;
        throw_errno("recvfrom");
    }
}

// ---------------------------------------------------------------------------
// ThreadTracker

bool ThreadTracker::hand_to_idle(std::function<void()>& body) {
    WorkerRef worker;
    {
        std::lock_guard lock(mutex_);
        if (idle_.empty()) return false;
        worker = idle_.back();  // the most recently idle thread: its stack is still warm
        idle_.pop_back();
        worker->next = std::move(body);
    }
    // Outside the lock, so it does not wake into a held mutex. The node stays
    // put: the thread cannot exit while `next` is set, and only the serving
    // thread ever reaps (frees) nodes.
    worker->wake.notify_one();
    return true;
}

void ThreadTracker::start(std::function<void()> body) {
    if (hand_to_idle(body)) return;
    WorkerRef worker;
    {
        std::lock_guard lock(mutex_);
        worker = workers_.emplace(workers_.end());
    }
    // A new thread. The lock covers only the list, not the thread's creation:
    // clone() is slow, and every thread going idle or exiting needs this lock.
    // The node exists before its thread does, so the thread can always find
    // it; only this (the serving) thread touches worker->thread, and reap() and
    // join_all() run here too, so nobody reads it while it is being assigned.
    try {
        worker->thread = std::jthread(
            [this, worker, body = std::move(body)]() mutable { run(worker, std::move(body)); });
    } catch (...) {
        std::lock_guard lock(mutex_);
        workers_.erase(worker);  // no thread (EAGAIN): forget the slot, report upwards
        throw;
    }
}

void ThreadTracker::run(WorkerRef self, std::function<void()> body) noexcept {
    for (;;) {
        try {
            body();
        } catch (...) {  // body is noexcept in practice; this is the last fence
        }
        body = nullptr;  // drops the request (and closes its socket) before idling
        std::unique_lock lock(mutex_);
        if (!closing_) {
            self->offer = idle_.insert(idle_.end(), self);
            self->wake.wait_for(lock, keep_idle_, [&] { return self->next || closing_; });
            if (self->next) {  // start() chose us and took us off idle_
                body = std::move(self->next);
                self->next = nullptr;
                continue;
            }
            idle_.erase(self->offer);  // timed out or closing: no longer on offer
        }
        // Move our own node to the finished list: reaping then costs
        // O(finished), not O(every thread), even with 10,000 clients.
        finished_.splice(finished_.end(), workers_, self);
        changed_.notify_all();
        return;
    }
}

void ThreadTracker::reap() {
    std::list<Worker> finished;
    {
        std::lock_guard lock(mutex_);
        finished.splice(finished.end(), finished_);
    }
    // Joined here, outside the lock (each is past its last use of the lock).
}

void ThreadTracker::join_all() {
    {
        std::unique_lock lock(mutex_);
        closing_ = true;
        for (auto worker : idle_)
            worker->wake.notify_one();
        // Every thread moves itself to finished_ as its last step.
        changed_.wait(lock, [this] { return workers_.empty(); });
        closing_ = false;  // nothing is left running that could still see it
    }
    reap();  // and joins them all
}

std::size_t ThreadTracker::count() {
    std::lock_guard lock(mutex_);
    return workers_.size() + finished_.size();
}

}  // namespace course::socketserver
