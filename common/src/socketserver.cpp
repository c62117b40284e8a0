// course::socketserver, in the order of CPython's Lib/socketserver.py
// (ThreadingMixIn, a template, is in the header).
#include "course/socketserver.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <iostream>
#include <system_error>

#include "course/signals.hpp"

namespace course::socketserver {

namespace {

Fd make_eventfd() {
    return Fd(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"));
}

void signal_eventfd(int fd) noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(fd, &one, sizeof one);  // counter full: still readable
}

// One line to stderr in one write, so lines from many threads do not interleave.
void log_line(const std::string& line) {
    std::cerr << (line + '\n') << std::flush;
}

// what() of the exception being handled.
std::string current_error_text() {
    if (!std::current_exception()) return "unknown error";
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// BaseServer

BaseServer::BaseServer(HandlerFactory factory, Options options)
    : options(options),
      factory_(std::move(factory)),
      wake_(make_eventfd()),
      cancel_(make_eventfd()) {}

BaseServer::~BaseServer() {
    // A subclass's destructor already ran its own server_close(); the Fd
    // members close themselves.
    shutdown_flag_.store(true);
}

void BaseServer::serve_forever() {
    {
        std::lock_guard lock(serving_mutex_);
        serving_ = true;
        serving_thread_ = std::this_thread::get_id();
    }
    struct ServingGuard {  // however we leave, shutdown() stops waiting for us
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
            const int wait_ms = accept_backoff_.wait_ms();  // -1: not resting, no limit
            const bool resting = wait_ms >= 0;
            // Python polls with a timeout to notice shutdown(); we wait on its eventfd.
            pollfd fds[3] = {{wake_.get(), POLLIN, 0},
                             {stop_fd(), POLLIN, 0},
                             {resting ? -1 : socket_.get(), POLLIN, 0}};
            if (::poll(fds, 3, wait_ms) < 0) {
                if (errno == EINTR) continue;  // a signal is not a reason to stop serving
                throw_errno("poll");
            }
            if (fds[0].revents != 0 || fds[1].revents != 0) break;  // shutdown() or SIGTERM
            // Several clients may be queued (a burst): take up to 64 per
            // wake-up instead of one poll() per accept().
            for (int taken = 0; fds[2].revents != 0 && taken < 64 && !shutdown_flag_.load();
                 ++taken)
                if (!handle_request_noblock()) break;
            service_actions();
        }
    } catch (const StopRequested&) {
        // A handler in this thread saw SIGINT/SIGTERM: that ends serving, quietly.
    }
}

void BaseServer::shutdown() {
    shutdown_flag_.store(true);
    signal_eventfd(wake_.get());
    std::unique_lock lock(serving_mutex_);
    if (serving_thread_ == std::this_thread::get_id()) return;  // Python would deadlock here
    serving_changed_.wait(lock, [this] { return !serving_; });
}

void BaseServer::handle_request() {
    if (shutdown_flag_.load()) return;
    pollfd fds[3] = {{wake_.get(), POLLIN, 0}, {stop_fd(), POLLIN, 0}, {socket_.get(), POLLIN, 0}};
    while (::poll(fds, 3, -1) < 0)
        if (errno != EINTR) throw_errno("poll");
    if (fds[0].revents != 0 || fds[1].revents != 0) return;
    (void)handle_request_noblock();
    service_actions();
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

void BaseServer::server_close() {
    socket_.reset();
}

void BaseServer::finish_request(Request& request) {
    factory_(request, *this)->run();
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

void BaseServer::cancel_handlers() {
    signal_eventfd(cancel_.get());
}

// ---------------------------------------------------------------------------
// TCPServer

TCPServer::TCPServer(const std::string& host, std::uint16_t port, HandlerFactory factory,
                     Options options)
    : TCPServer(resolve(host, port, SOCK_STREAM, true).front(), std::move(factory), options) {
    if (options.bind_and_activate) {
        TCPServer::server_bind();  // if these throw, the Fd members close themselves
        TCPServer::server_activate();
    }
}

TCPServer::TCPServer(const Endpoint& bind_to, HandlerFactory factory, Options options)
    : BaseServer(std::move(factory), options), bind_to_(bind_to) {
    // Non-blocking: accept() and recvfrom() follow poll()'s "readable", but the
    // client may have given up meanwhile, and then they must not block.
    socket_ = Fd(check(::socket(bind_to.family, bind_to.socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
                       "socket"));
}

void TCPServer::server_bind() {
    if (options.allow_reuse_address) {
        int on = 1;
        check(::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
              "setsockopt SO_REUSEADDR");
    }
    check(::bind(socket_.get(), bind_to_.addr(), bind_to_.length), "bind " + bind_to_.to_string());
    // The real address: port 0 asked the OS to pick one.
    server_address_ = bind_to_;
    server_address_.length = sizeof server_address_.storage;
    check(::getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&server_address_.storage),
                        &server_address_.length),
          "getsockname");
}

void TCPServer::server_activate() {
    check(::listen(socket_.get(), options.request_queue_size), "listen");
}

std::uint16_t TCPServer::port() const {
    const auto& storage = server_address_.storage;
    if (storage.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (storage.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

bool TCPServer::get_request(Request& request) {
    request.client.family = bind_to_.family;
    request.client.length = sizeof request.client.storage;
    request.connection = accept_or_back_off(socket_.get(), accept_backoff_,
                                            reinterpret_cast<sockaddr*>(&request.client.storage),
                                            &request.client.length);
    return request.connection.valid();
}

void TCPServer::shutdown_request(Request& request) {
    // Python: "explicitly shutdown. socket.close() merely releases the socket
    // and waits for GC to perform the actual close." SHUT_WR sends our FIN now,
    // even if another descriptor still refers to the socket.
    if (!request.connection) return;
    ::shutdown(request.connection.get(), SHUT_WR);
    request.connection.reset();
}

// ---------------------------------------------------------------------------
// UDPServer

UDPServer::UDPServer(const std::string& host, std::uint16_t port, HandlerFactory factory,
                     Options options)
    : TCPServer(resolve(host, port, SOCK_DGRAM, true).front(), std::move(factory), options) {
    if (options.bind_and_activate) {
        server_bind();
        server_activate();
    }
}

bool UDPServer::get_request(Request& request) {
    request.data.resize(options.max_packet_size);
    request.socket = socket_.get();
    request.client.family = bind_to_.family;
    for (;;) {
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
// UnixStreamServer

namespace {

Endpoint unix_endpoint(const std::string& path) {
    Endpoint endpoint;
    endpoint.family = AF_UNIX;
    endpoint.socktype = SOCK_STREAM;
    auto* un = reinterpret_cast<sockaddr_un*>(&endpoint.storage);
    un->sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof un->sun_path)
        throw std::system_error(ENAMETOOLONG, std::generic_category(), "unix socket path " + path);
    std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
    endpoint.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return endpoint;
}

}  // namespace

UnixStreamServer::UnixStreamServer(const std::string& path, HandlerFactory factory, Options options)
    : TCPServer(unix_endpoint(path), std::move(factory), options), path_(path) {
    if (options.bind_and_activate) {
        UnixStreamServer::server_bind();  // "Address already in use" if the file exists
        server_activate();
    }
}

void UnixStreamServer::server_bind() {
    TCPServer::server_bind();
    bound_ = true;
}

void UnixStreamServer::server_close() {
    TCPServer::server_close();
    if (bound_) {
        ::unlink(path_.c_str());  // or the next bind() fails
        bound_ = false;
    }
}

// ---------------------------------------------------------------------------
// Request handlers

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

void StreamRequestHandler::wait(short events) {
    if (wait_for(socket(), events, timeout, server.cancel_fd()) == 0)
        throw std::system_error(ETIMEDOUT, std::generic_category(), "wait");
}

bool StreamRequestHandler::fill() {
    // Keep the buffer from creeping: drop what was already handed out.
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    // One poll() and one recv() per message. The chunk lives on the stack, so
    // an idle client costs no buffer memory (10,000 idle clients would
    // otherwise hold 160 MiB).
    char chunk[16 * 1024];
    for (;;) {
        wait(POLLIN);
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
        // (the echo server's path: no allocation, no memory held while idle).
        for (;;) {
            wait(POLLIN);
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
        if (n >= 0)
            bytes.remove_prefix(static_cast<std::size_t>(n));
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            wait(POLLOUT);
        else if (errno != EINTR)
            throw_errno("send");
    }
}

std::string DatagramRequestHandler::readline() {
    const std::string& data = request.data;
    if (read_position_ >= data.size()) return {};
    const auto newline = data.find('\n', read_position_);
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
    while (::sendto(request.socket, reply_.data(), reply_.size(), MSG_NOSIGNAL,
                    client_address.addr(), client_address.length) < 0)
        if (errno != EINTR) throw_errno("sendto " + client_address.to_string());
}

}  // namespace course::socketserver
