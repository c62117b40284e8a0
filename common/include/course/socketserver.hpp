// course::socketserver: CPython's Lib/socketserver.py in C++20, class for class.
// Read it beside socketserver.py: the same classes and steps, in the same order.
//
//   Python                                      C++ (namespace course::socketserver)
//   class H(socketserver.StreamRequestHandler)  struct H : StreamRequestHandler
//   socketserver.ThreadingTCPServer(addr, H)    ThreadingTCPServer server(host, port, handler<H>())
//   server.serve_forever(), server.shutdown()   the same
//   server.server_close()                       the same (and the destructor)
//
// serve_forever() calls the overridable steps in Python's order:
//   get_request()                 accept() / recvfrom()
//   verify_request(request)       false: shutdown_request(), and on to the next
//   process_request(request)      plain: right here; ThreadingMixIn: on a thread
//     finish_request(request)     makes the handler: setup(), handle(), finish()
//     shutdown_request(request)   shutdown(SHUT_WR), close
//   an exception: handle_error(), then shutdown_request()
//
// Differences from Python, on purpose:
//   * shutdown() wakes serve_forever() at once (an eventfd, no poll_interval)
//     and is sticky: called before serve_forever(), it makes it return at once.
//   * SIGINT/SIGTERM (course::install_stop_handlers) end serve_forever() too,
//     and make every handler's wait throw course::StopRequested: a stop, not an error.
//   * Settings are constructor Options, not class attributes. C++ constructors
//     do not call a subclass's overrides, so a subclass that overrides
//     server_bind() or server_activate() sets bind_and_activate = false and
//     calls them itself, as Python allows.
//   * ThreadingMixIn lets a thread whose request is done take the next one
//     (thread_tracker.hpp: the library's one optimisation).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "course/address.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/thread_tracker.hpp"

namespace course::socketserver {

// What get_request() returns: Python's (request, client_address) in one object.
// Stream servers fill `connection`; datagram servers fill `data` (the
// datagram) and `socket` (the server's own socket, for the reply).
struct Request {
    Fd connection;
    std::string data;
    int socket = -1;
    Endpoint client;
};

// Python's class attributes, as constructor settings.
struct Options {
    bool allow_reuse_address = false;    // SO_REUSEADDR before bind (Python's default: off)
    int request_queue_size = 5;          // listen() backlog; Python's 5 (programs use SOMAXCONN)
    bool bind_and_activate = true;       // false: call server_bind()/server_activate() yourself
    bool block_on_close = true;          // Threading: server_close() waits for handlers to end
    std::size_t max_packet_size = 8192;  // UDP: bytes offered to each recvfrom()
};

class BaseServer;
class BaseRequestHandler;

// How a server makes a handler for each request (Python's RequestHandlerClass);
// see handler<H>() at the end of this file.
using HandlerFactory = std::function<std::unique_ptr<BaseRequestHandler>(Request&, BaseServer&)>;

// ---------------------------------------------------------------------------
// Servers

class BaseServer {
  public:
    BaseServer(HandlerFactory factory, Options options);
    virtual ~BaseServer();
    BaseServer(const BaseServer&) = delete;
    BaseServer& operator=(const BaseServer&) = delete;

    virtual void server_activate() {}
    // Handles requests until shutdown() or SIGINT/SIGTERM.
    void serve_forever();
    // Asks serve_forever() to return and waits until it has; from the serving
    // thread itself (a plain server's handler) it only asks. Sticky.
    void shutdown();
    [[nodiscard]] bool shutdown_requested() const { return shutdown_flag_.load(); }
    // Called once per loop turn; ThreadingMixIn joins finished threads here.
    virtual void service_actions() {}
    // Waits for one request (or a shutdown) and handles it.
    void handle_request();

    virtual bool verify_request(Request&) { return true; }
    virtual void process_request(Request& request);
    // Closes the socket (ThreadingMixIn: and joins the handler threads).
    // Idempotent; destruction does the same.
    virtual void server_close();
    virtual void finish_request(Request& request);
    virtual void shutdown_request(Request&) {}
    // Called in a catch block: prints "error: handler for HOST:PORT: <what>".
    virtual void handle_error(Request& request);

    // The listening (or datagram) socket, Python's fileno(), and where it is bound.
    [[nodiscard]] int socket() const { return socket_.get(); }
    [[nodiscard]] const Endpoint& server_address() const { return server_address_; }

    // Readable once handlers should give up waiting (server_close() without
    // block_on_close); the handlers' waits watch it. With block_on_close (the
    // default) nothing cancels handlers, and -1 keeps it out of their poll().
    [[nodiscard]] int cancel_fd() const { return options.block_on_close ? -1 : cancel_.get(); }
    void cancel_handlers();

    const Options options;

  protected:
    // False when nothing was there after all (the client gave up...).
    virtual bool get_request(Request& request) = 0;
    // handle_error(), itself guarded: an error inside it is printed, never thrown.
    void report_error(Request& request) noexcept;

    Fd socket_;
    Endpoint server_address_;
    // Resting while accept() is out of descriptors: serve_forever() leaves the
    // listener alone until then, so it neither spins nor sleeps past a shutdown().
    AcceptBackoff accept_backoff_;

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
    // SO_REUSEADDR if asked, bind(), then getsockname() into server_address().
    virtual void server_bind();
    void server_activate() override;  // listen()
    void shutdown_request(Request& request) override;

    [[nodiscard]] std::uint16_t port() const;

  protected:
    // A socket for `bind_to` (Python's address_family and socket_type), not
    // yet bound: the subclass's constructor binds and activates it.
    TCPServer(const Endpoint& bind_to, HandlerFactory factory, Options options);
    bool get_request(Request& request) override;  // accept()

    Endpoint bind_to_;
};

class UDPServer : public TCPServer {
  public:
    UDPServer(const std::string& host, std::uint16_t port, HandlerFactory factory,
              Options options = {});
    void server_activate() override {}           // no listen() for datagrams
    void shutdown_request(Request&) override {}  // no connection: the datagram was the request

  protected:
    bool get_request(Request& request) override;  // recvfrom()
};

// AF_UNIX, SOCK_STREAM: a path instead of a port. The path must not exist
// yet; server_close() removes it.
class UnixStreamServer : public TCPServer {
  public:
    UnixStreamServer(const std::string& path, HandlerFactory factory, Options options = {});
    ~UnixStreamServer() override { UnixStreamServer::server_close(); }
    void server_bind() override;
    void server_close() override;
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
    bool bound_ = false;  // the socket file is ours to remove
};

// Python's ThreadingMixIn, as a template over the server: every request on a
// thread of its own.
template <typename Server>
class ThreadingMixIn : public Server {
  public:
    using Server::Server;

    void process_request(Request& request) override {
        threads_.reap();
        auto owned = std::make_shared<Request>(std::move(request));  // the thread's from now on
        threads_.start([this, owned] { process_request_thread(*owned); });
    }

    void server_close() override {
        Server::server_close();
        if (!this->options.block_on_close) this->cancel_handlers();
        threads_.join_all();
    }

    void service_actions() override { threads_.reap(); }

    // Python's len(server._threads).
    [[nodiscard]] std::size_t thread_count() { return threads_.count(); }

  protected:
    // What each thread runs. Never throws: nothing may escape a thread.
    void process_request_thread(Request& request) noexcept {
        try {
            this->finish_request(request);
        } catch (const StopRequested&) {  // a stop is not an error: the connection just ends
        } catch (...) {
            this->report_error(request);
        }
        try {
            this->shutdown_request(request);
        } catch (...) {
            this->report_error(request);
        }
    }

  private:
    ThreadTracker threads_;  // destroyed first: joins every thread before the server goes
};

using ThreadingTCPServer = ThreadingMixIn<TCPServer>;
using ThreadingUDPServer = ThreadingMixIn<UDPServer>;
using ThreadingUnixStreamServer = ThreadingMixIn<UnixStreamServer>;

// ---------------------------------------------------------------------------
// Request handlers: one object per request. The constructor only stores (it
// cannot call a subclass's overrides); run() calls setup(), handle(), finish().

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
    const Endpoint& client_address;
    BaseServer& server;
};

// A connected stream: a buffered reader (Python's rfile.readline()) and an
// unbuffered writer (wfile.write() sends every byte). Every wait also watches
// the stop pipe and the server's cancel_fd(), so a stopping server never waits
// on a silent client.
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

    // The socket, for handlers with their own poll() loop.
    [[nodiscard]] int socket() const { return request.connection.get(); }
    // Bytes read from the socket but not yet handed out by readline/read_some.
    [[nodiscard]] std::size_t buffered() const { return buffer_.size() - start_; }

  private:
    void wait(short events);  // course::wait_for() with timeout and cancel_fd()
    bool fill();              // one recv() into the buffer; false at EOF

    std::string buffer_;
    std::size_t start_ = 0;
};

// A datagram in, a datagram out: handle() reads the received bytes and
// write()s a reply, which finish() sends back to the client.
class DatagramRequestHandler : public BaseRequestHandler {
  public:
    using BaseRequestHandler::BaseRequestHandler;

    void finish() override;

    // Python's rfile.readline() over the datagram: empty once it is used up.
    std::string readline();
    // Everything left of the datagram.
    std::string read_all();
    // Appends to the reply.
    void write(std::string_view bytes) { reply_.append(bytes); }

  private:
    std::size_t read_position_ = 0;
    std::string reply_;
};

// handler<EchoHandler>() or handler<ChatHandler>(std::ref(room)): a factory
// that builds Handler(request, server, extra...) for every request. The extra
// arguments are copied into the factory (use std::ref for shared state).
template <typename Handler, typename... Extra>
HandlerFactory handler(Extra... extra) {
    return [... extra = std::move(extra)](Request& request, BaseServer& server) {
        return std::unique_ptr<BaseRequestHandler>(new Handler(request, server, extra...));
    };
}

}  // namespace course::socketserver
