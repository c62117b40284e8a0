// A C++20 socketserver: the design of Python's Lib/socketserver.py, with RAII.
//
// Python                                  C++ (namespace course::socketserver)
//   class H(socketserver.BaseRequestHandler)  struct H : BaseRequestHandler
//   class H(socketserver.StreamRequestHandler) struct H : StreamRequestHandler
//   socketserver.TCPServer(addr, H)            TCPServer server(host, port, handler<H>())
//   socketserver.ThreadingTCPServer            ThreadingTCPServer (= ThreadingMixIn<TCPServer>)
//   server.serve_forever()                     server.serve_forever()
//   server.shutdown()                          server.shutdown()   (also: SIGINT/SIGTERM)
//   server.server_close()                      server.server_close() (also: the destructor)
//
// The skeleton (BaseServer) calls overridable steps in the same order Python does:
//
//   serve_forever():  wait for {listening socket, shutdown eventfd, stop pipe}
//     -> handle_request_noblock():
//          get_request()                    accept() / recvfrom()
//          verify_request(request)          false: shutdown_request() and move on
//          process_request(request)         plain: in this thread; Threading: a new thread
//            -> finish_request(request)     builds the handler: setup(), handle(), finish()
//            -> shutdown_request(request)   shutdown(SHUT_WR) + close
//          an exception: handle_error() once, then shutdown_request()
//
// Differences from Python, on purpose:
//   * shutdown() is woken at once (an eventfd, no poll_interval) and is sticky:
//     called before serve_forever() starts, serve_forever() returns at once.
//   * SIGINT/SIGTERM (course::install_stop_handlers) also end serve_forever(),
//     and make every handler's wait throw course::StopRequested, which the
//     server treats as "stop", never as an error.
//   * Settings are constructor Options, not class attributes, and the
//     constructor binds and activates with the class's own steps (C++ does not
//     call a subclass's overrides from a base constructor). A subclass that
//     overrides server_bind/server_activate passes bind_and_activate = false
//     and calls them itself, exactly as Python allows.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "course/fd.hpp"
#include "course/io.hpp"

namespace course::socketserver {

// ---------------------------------------------------------------------------
// Process set-up

struct FdLimit {
    std::uint64_t before = 0;
    std::uint64_t after = 0;
};

// Raises this process's RLIMIT_NOFILE soft limit to its hard limit (a
// thread-per-client server holds one descriptor per client) and returns both.
FdLimit raise_fd_limit();

// raise_fd_limit(), then one line on stderr saying what it did.
void raise_fd_limit_and_say_so();

// ---------------------------------------------------------------------------
// Requests

// A peer's address: IPv4, IPv6 or a Unix socket path.
struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    [[nodiscard]] const sockaddr* addr() const {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
    [[nodiscard]] int family() const { return storage.ss_family; }
    // "127.0.0.1:8080", "[::1]:8080", or the Unix path ("unix:/tmp/x.sock",
    // "unix:(unnamed)" for a client that did not bind).
    [[nodiscard]] std::string to_string() const;
};

// What get_request() returns. Stream servers fill `connection`; datagram
// servers fill `data` (the datagram) and `socket` (the server's own socket,
// for the reply). Python passes (request, client_address); here they travel together.
struct Request {
    Fd connection;
    std::string data;
    int socket = -1;
    Address client;
};

class BaseServer;

// ---------------------------------------------------------------------------
// Request handlers: one object per request; the constructor only stores, and
// run() calls setup(), handle() and finish() (finish() even if handle() threw).

class BaseRequestHandler {
  public:
    BaseRequestHandler(Request& request, BaseServer& server)
        : request(request), client_address(request.client), server(server) {}
    virtual ~BaseRequestHandler() = default;
    BaseRequestHandler(const BaseRequestHandler&) = delete;
    BaseRequestHandler& operator=(const BaseRequestHandler&) = delete;

    virtual void setup() {}
    virtual void handle() {}
    virtual void finish() {}

    void run();

  protected:
    Request& request;
    const Address& client_address;
    BaseServer& server;
};

// A connected stream with a buffered reader (readline) and an unbuffered writer
// (write sends every byte, like Python's default wfile). Every wait also
// watches the stop pipe and the server's cancel eventfd, so a stopping server
// never waits on a silent client.
class StreamRequestHandler : public BaseRequestHandler {
  public:
    using BaseRequestHandler::BaseRequestHandler;

    // Python's StreamRequestHandler.timeout: seconds a wait may take before
    // std::system_error(ETIMEDOUT) is thrown; negative: no limit.
    double timeout = forever;

    // One line, '\n' included; at most `limit` bytes (the rest stays buffered
    // for the next call); shorter at EOF; empty once the peer closed.
    std::string readline(std::size_t limit = 65536);
    // Whatever is buffered or arrives next, at most `limit` bytes; empty at EOF.
    std::string read_some(std::size_t limit = 16 * 1024);
    // The same into your buffer (no allocation): the byte count, 0 at EOF.
    std::size_t read_into(std::span<char> buffer);
    // Sends every byte (looping over short sends; stop- and cancel-aware).
    void write(std::string_view bytes);

    // The socket, for handlers that want their own poll() loop.
    [[nodiscard]] int socket() const { return request.connection.get(); }
    // Bytes read from the socket but not yet handed out by readline/read_some.
    [[nodiscard]] std::size_t buffered() const { return buffer_.size() - start_; }

  private:
    bool fill();  // one recv into the buffer; false at EOF

    std::string buffer_;
    std::size_t start_ = 0;
};

// A datagram in, a datagram out: handle() reads from the received bytes and
// write()s into a reply that finish() sends back to the client (if non-empty).
class DatagramRequestHandler : public BaseRequestHandler {
  public:
    using BaseRequestHandler::BaseRequestHandler;

    void finish() override;

    // Python's rfile.readline() over the datagram: empty when it is used up.
    std::string readline();
    // Everything left of the datagram.
    std::string read_all();
    // Appends to the reply.
    void write(std::string_view bytes) { reply_.append(bytes); }

  private:
    std::size_t read_position_ = 0;
    std::string reply_;
};

// How a server makes a handler for each request (Python's RequestHandlerClass).
using HandlerFactory = std::function<std::unique_ptr<BaseRequestHandler>(Request&, BaseServer&)>;

// handler<EchoHandler>() or handler<ChatHandler>(std::ref(room)): a factory
// that builds Handler(request, server, extra...) for every request. The extra
// arguments are copied into the factory (use std::ref for shared state).
template <typename Handler, typename... Extra>
HandlerFactory handler(Extra... extra) {
    return [... extra = std::move(extra)](Request& request, BaseServer& server) {
        return std::unique_ptr<BaseRequestHandler>(new Handler(request, server, extra...));
    };
}

// ---------------------------------------------------------------------------
// Servers

struct Options {
    bool allow_reuse_address = false;    // SO_REUSEADDR before bind (Python's default: off)
    int request_queue_size = 5;          // listen() backlog; Python's 5 (programs use SOMAXCONN)
    bool bind_and_activate = true;       // false: call server_bind()/server_activate() yourself
    bool block_on_close = true;          // Threading: server_close() waits for handlers to end
    std::size_t max_packet_size = 8192;  // UDP: bytes offered to each recvfrom()
};

class BaseServer {
  public:
    BaseServer(HandlerFactory factory, Options options);
    virtual ~BaseServer();
    BaseServer(const BaseServer&) = delete;
    BaseServer& operator=(const BaseServer&) = delete;

    // Handles requests until shutdown() or SIGINT/SIGTERM. Blocks in poll()
    // without a timeout: shutdown() wakes it through an eventfd.
    void serve_forever();
    // Handles one request if one is ready (or waits for it), then returns.
    void handle_request();
    // Asks serve_forever() to return, and waits until it has (unless called
    // from the serving thread itself, where waiting would deadlock). Sticky.
    void shutdown();
    [[nodiscard]] bool shutdown_requested() const { return shutdown_flag_.load(); }

    // Closes the listening socket (and, Threading, joins the handler threads).
    // Idempotent; the destructor calls it too.
    virtual void server_close();

    // --- the overridable steps, in the order serve_forever() uses them ---
    virtual void server_bind() {}
    virtual void server_activate() {}
    virtual bool verify_request(Request&) { return true; }
    virtual void process_request(Request& request);
    virtual void finish_request(Request& request);
    virtual void shutdown_request(Request& request);
    // Called inside the catch block: std::current_exception() is the error.
    // The default prints "error: handler for HOST:PORT: <what>" to stderr.
    virtual void handle_error(Request& request);
    // Called once per loop turn (Python's service_actions); Threading reaps here.
    virtual void service_actions() {}

    // The listening (or datagram) socket, and where it is bound.
    [[nodiscard]] int socket() const { return socket_.get(); }
    [[nodiscard]] const Address& server_address() const { return server_address_; }

    // Readable once handlers should give up waiting (server_close without
    // block_on_close). Handler I/O in this library watches it.
    // With block_on_close (the default) nothing cancels handlers, and -1 keeps
    // the eventfd out of every handler's poll() (one shared wait queue fewer).
    [[nodiscard]] int cancel_fd() const { return options.block_on_close ? -1 : cancel_.get(); }
    void cancel_handlers();

    // What every request handler is made with.
    const Options options;

  protected:
    // Returns false when nothing was there after all (EAGAIN, ECONNABORTED, ...).
    virtual bool get_request(Request& request) = 0;
    // Records getsockname() in server_address_ (call after bind()).
    void record_address();
    // finish_request + shutdown_request, with errors sent to handle_error once:
    // what a handler thread runs. Never throws.
    void finish_and_shutdown(Request& request) noexcept;
    // handle_error, itself guarded: an error inside it is printed, never thrown.
    void report_error(Request& request) noexcept;

    Fd socket_;
    Address server_address_;
    // Set while accept() is out of descriptors: serve_forever() stops
    // watching the listener until then, so it neither spins nor sleeps past a shutdown().
    std::chrono::steady_clock::time_point backoff_until_{};

  private:
    bool handle_request_noblock();  // false: nothing was there

    HandlerFactory factory_;
    Fd wake_;    // eventfd: written by shutdown(), never drained (sticky)
    Fd cancel_;  // eventfd: written by cancel_handlers(), never drained
    std::atomic<bool> shutdown_flag_{false};
    std::mutex serving_mutex_;
    std::condition_variable serving_changed_;
    bool serving_ = false;
    std::thread::id serving_thread_{};
};

class TCPServer : public BaseServer {
  public:
    TCPServer(const std::string& host, std::uint16_t port, HandlerFactory factory,
              Options options = {});
    void server_bind() override;
    void server_activate() override;

    [[nodiscard]] std::uint16_t port() const;

  protected:
    // For subclasses with another address family (UnixStreamServer).
    TCPServer(Fd socket, HandlerFactory factory, Options options);
    bool get_request(Request& request) override;

    Address bind_to_;
};

// AF_UNIX, SOCK_STREAM: the same server on a path instead of a port. The path
// must not exist yet; server_close() removes it.
class UnixStreamServer : public TCPServer {
  public:
    UnixStreamServer(const std::string& path, HandlerFactory factory, Options options = {});
    void server_close() override;
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
    bool bound_ = false;
};

class UDPServer : public BaseServer {
  public:
    UDPServer(const std::string& host, std::uint16_t port, HandlerFactory factory,
              Options options = {});
    void server_bind() override;
    // No connection to shut down: the datagram is the whole request.
    void shutdown_request(Request&) override {}

    [[nodiscard]] std::uint16_t port() const;

  protected:
    bool get_request(Request& request) override;

    Address bind_to_;
};

// ---------------------------------------------------------------------------
// The threading mix-in: Python's ThreadingMixIn, as a template over the server.
// Every request runs on a thread of its own, never queued behind another. A
// thread whose request is done waits up to `keep_idle` for the next one before
// it exits, so a stream of short connections reuses a few threads instead of
// paying for a new one each time (creating a thread costs more than a whole
// connect-request-close on loopback). Exited threads are joined (reaped) on
// every loop turn, so they never pile up; server_close() wakes the idle ones
// and joins them all. No exception ever leaves a handler thread.

class ThreadTracker {
  public:
    explicit ThreadTracker(std::chrono::milliseconds keep_idle = std::chrono::seconds(2))
        : keep_idle_(keep_idle) {}
    ThreadTracker(const ThreadTracker&) = delete;
    ThreadTracker& operator=(const ThreadTracker&) = delete;
    ~ThreadTracker() { join_all(); }
    // Runs `body` on an idle thread, or on a new one if none is idle (throws
    // std::system_error if no thread can be made).
    void start(std::function<void()> body);
    // Joins the threads that have exited.
    void reap();
    // Lets every thread finish its request, then joins them all.
    void join_all();
    // Threads alive (busy or idle) or exited and not yet reaped.
    [[nodiscard]] std::size_t count();

  private:
    struct Worker;
    using WorkerRef = std::list<Worker>::iterator;
    struct Worker {
        std::jthread thread;
        std::function<void()> next;            // handed over by start() while idle
        std::condition_variable wake;          // start() or join_all() has news
        std::list<WorkerRef>::iterator offer;  // where it sits in idle_, while idle
    };
    // Moves `body` to an idle thread and wakes it; false if none is idle.
    bool hand_to_idle(std::function<void()>& body);
    void run(WorkerRef self, std::function<void()> body) noexcept;

    const std::chrono::milliseconds keep_idle_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::list<Worker> workers_;   // alive: busy or idle
    std::list<WorkerRef> idle_;   // the idle ones, most recently idle last
    std::list<Worker> finished_;  // exited, waiting to be joined
    bool closing_ = false;        // join_all() is waiting: idle threads exit
};

template <typename Server>
class ThreadingMixIn : public Server {
  public:
    using Server::Server;
    ~ThreadingMixIn() override { threads_.join_all(); }

    void process_request(Request& request) override {
        threads_.reap();
        // The thread owns the request from here on (the Fd moves with it).
        auto owned = std::make_shared<Request>(std::move(request));
        threads_.start([this, owned] { process_request_thread(*owned); });
    }

    void service_actions() override { threads_.reap(); }

    void server_close() override {
        Server::server_close();
        if (!this->options.block_on_close) this->cancel_handlers();
        threads_.join_all();
    }

    // Handler threads started and not yet reaped (Python's len(server._threads)).
    [[nodiscard]] std::size_t thread_count() { return threads_.count(); }

  protected:
    void process_request_thread(Request& request) noexcept { this->finish_and_shutdown(request); }

  private:
    ThreadTracker threads_;
};

using ThreadingTCPServer = ThreadingMixIn<TCPServer>;
using ThreadingUDPServer = ThreadingMixIn<UDPServer>;
using ThreadingUnixStreamServer = ThreadingMixIn<UnixStreamServer>;

// ---------------------------------------------------------------------------
// Waiting helpers the handlers use (exposed for handlers with their own loops).

// Waits for `events` on `fd`, the stop pipe and `cancel_fd`. Returns the fd's
// revents; throws StopRequested on a stop or cancel, ETIMEDOUT after `timeout`.
short wait_for(int fd, short events, int cancel_fd, double timeout_seconds = forever);

}  // namespace course::socketserver
