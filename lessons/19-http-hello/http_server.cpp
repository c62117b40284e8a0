// http_server: a minimal HTTP/1.1 static file server, grown from "send the header first".
//
//   http_server --root www          then open http://127.0.0.1:8019/ in a browser
//
// GET and HEAD, Content-Length and Content-Type, keep-alive, error statuses
// (400 404 405 408 413 414 431 505), the root confinement of lesson 05, a size
// limit on what a client may send, and one thread per connection so that a slow
// client (or a "slowloris" that never finishes its request) never blocks the others.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/files.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"
#include "http_request.hpp"

namespace {

struct Config {
    course::Root root;    // its real path, and the folder every name is resolved from
    double timeout = 10;  // seconds a client gets for each request head (and idle keep-alive)
    http::Limits limits;  // at most 8 KiB of request head
};

// Several connection threads log at once: one whole line at a time.
void log_line(const std::string& line) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::cerr << line << '\n';
}

// "Tue, 24 Nov 2026 02:21:26 GMT": the Date header every response carries.
std::string http_date() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    std::array<char, 64> text{};
    const std::size_t length =
        std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return {text.data(), length};
}

// --8<-- [start:head]
// The status line and headers: the "header first" of the seed
// (b'HTTP/1.1 200 OK\r\n\r\n'), plus what a browser needs to know:
// how many bytes follow, what they are, and whether the connection stays open.
std::string response_head(int status, std::string_view content_type, std::size_t length,
                          bool keep_alive, std::string_view extra_headers = "") {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(http::reason_phrase(status)) + "\r\n";
    head += "Date: " + http_date() + "\r\n";
    head += "Server: socket-lessons\r\n";
    head += "Content-Type: " + std::string(content_type) + "\r\n";
    head += "Content-Length: " + std::to_string(length) + "\r\n";
    head += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    head += extra_headers;
    head += "\r\n";  // the empty line: the body starts right after it
    return head;
}
// --8<-- [end:head]

// A short text body for an error status ("404 Not Found"); HEAD gets the head only.
void send_error(int fd, int status, bool head_only, bool keep_alive,
                std::string_view extra_headers = "") {
    const std::string body =
        std::to_string(status) + " " + std::string(http::reason_phrase(status)) + "\n";
    std::string response =
        response_head(status, "text/plain; charset=utf-8", body.size(), keep_alive, extra_headers);
    if (!head_only) response += body;
    course::send_all(fd, response);  // in ONE send: see "Nagle" on the lesson page
}

// --8<-- [start:resolve]
// The file or folder `name` names inside the root, or nothing (404). As in
// lesson 05, the kernel resolves the name beneath the root (course::open_beneath),
// so a symlink pointing out of the root is refused like a missing file.
course::Fd open_in_root(const Config& config, const std::string& name) {
    try {
        // O_NONBLOCK: a FIFO there must not hang this thread (it gets a 404 below).
        return course::open_beneath(config.root, name, O_RDONLY | O_NONBLOCK);
    } catch (const course::Refused&) {    // outside the root
    } catch (const std::system_error&) {  // missing, unreadable, ...
    }
    return {};
}
// --8<-- [end:resolve]

struct Outcome {
    int status = 0;
    std::uint64_t bytes = 0;  // body bytes sent
    bool keep_alive = false;
};

// Answers one parsed request. Returns what was sent, for the log line.
Outcome answer(int fd, const http::Request& request, const Config& config) {
    const bool head_only = request.method == "HEAD";
    Outcome outcome{0, 0, request.keep_alive()};
    auto fail = [&](int status, bool keep_alive, std::string_view extra = "") {
        outcome.status = status;
        outcome.keep_alive = keep_alive;
        send_error(fd, status, head_only, keep_alive, extra);
        return outcome;
    };

    if (request.method != "GET" && request.method != "HEAD")
        return fail(405, false, "Allow: GET, HEAD\r\n");  // close: a body we never read may follow
    if (request.has_body()) return fail(413, false);      // nor do we read request bodies

    // Percent-decode, then refuse "..", and only then touch the file system.
    const auto relative = http::target_to_relative_path(request.target);
    if (!relative) return fail(400, outcome.keep_alive);
    std::string name = relative->empty() ? "." : *relative;  // "/": the root itself
    course::Fd file = open_in_root(config, name);
    struct stat info {};
    if (file && ::fstat(file.get(), &info) == 0 && S_ISDIR(info.st_mode)) {
        // "/docs" is a folder: send the browser to "/docs/" so that relative
        // links inside its index.html resolve against the folder.
        const std::string_view target =
            std::string_view(request.target).substr(0, request.target.find('?'));
        if (target.back() != '/')
            return fail(301, outcome.keep_alive, "Location: " + std::string(target) + "/\r\n");
        name += "/index.html";
        file = open_in_root(config, name);
    }
    if (!file || ::fstat(file.get(), &info) < 0 || !S_ISREG(info.st_mode))
        return fail(404, outcome.keep_alive);

    // --8<-- [start:send]
    const auto size = static_cast<std::uint64_t>(info.st_size);
    outcome.status = 200;
    std::string out = response_head(200, http::content_type_for(name), size, outcome.keep_alive);
    if (head_only) {  // HEAD: the same head, no body
        course::send_all(fd, out);
        return outcome;
    }

    // The body, in chunks: memory stays small however big the file is. The
    // head travels with the first chunk, in one send(): two small sends in a
    // row would meet Nagle's algorithm and a delayed ACK (40 ms each time).
    std::array<char, 64 * 1024> chunk{};
    do {
        const ssize_t n = ::read(file.get(), chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the file shrank under us: we cannot keep our promise...
        const auto wanted =
            std::min<std::uint64_t>(static_cast<std::uint64_t>(n), size - outcome.bytes);
        out.append(chunk.data(), wanted);
        course::send_all(fd, out);
        outcome.bytes += wanted;
        out.clear();
    } while (outcome.bytes < size);
    if (!out.empty()) course::send_all(fd, out);           // an empty file: the head alone
    if (outcome.bytes < size) outcome.keep_alive = false;  // ...so we close, and the client knows
    // --8<-- [end:send]
    return outcome;
}

// --8<-- [start:connection]
// One client, one thread: read a request head, answer it, repeat while keep-alive.
void serve_connection(int fd, const std::string& peer, const Config& config) {
    std::string buffer;  // bytes received but not used yet (a pipelined next request, say)
    std::array<char, 4096> chunk{};
    for (;;) {
        // Every request head must arrive within --timeout: a "slowloris" that
        // sends one byte a second cannot hold its connection forever.
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(config.timeout);
        http::ParseResult parsed = http::parse_request(buffer, config.limits);
        while (parsed.outcome == http::Outcome::incomplete) {
            const std::chrono::duration<double> left = deadline - std::chrono::steady_clock::now();
            if (left.count() <= 0 || !course::wait_readable(fd, left.count())) {
                if (buffer.find_first_not_of("\r\n") != std::string::npos) {
                    log_line(peer + " timed out in the middle of a request: 408");
                    send_error(fd, 408, false, false);
                }
                return;  // an idle keep-alive connection just gets closed
            }
            const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
            if (n == 0) return;  // the client closed: normal end of a keep-alive connection
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
                course::throw_errno("recv");
            }
            buffer.append(chunk.data(), static_cast<std::size_t>(n));
            parsed = http::parse_request(buffer, config.limits);
        }

        if (parsed.outcome == http::Outcome::error) {
            log_line(peer + " bad request: " + parsed.reason + ": " +
                     std::to_string(parsed.status));
            send_error(fd, parsed.status, false, false);
            return;  // after a broken request we cannot know where the next one starts
        }
        buffer.erase(0, parsed.consumed);

        const http::Request& request = parsed.request;
        const Outcome outcome = answer(fd, request, config);
        log_line(peer + " \"" +
                 course::escape_invalid_utf8(request.method + " " + request.target + " " +
                                             request.version) +
                 "\" " + std::to_string(outcome.status) + " " + std::to_string(outcome.bytes));
        if (!outcome.keep_alive) return;
    }
}
// --8<-- [end:connection]

// A connection's thread, and a flag it raises when it is finished so that the
// accept loop can join it (std::jthread joins in its destructor).
struct Connection {
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
    std::jthread thread;
};

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"A minimal HTTP/1.1 static file server (lesson 19)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8019;
    std::string root;
    Config config;
    std::size_t max_clients = 256;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--root", root, "Folder whose files are served")->required();
    course::add_seconds_option(app, "--timeout", config.timeout,
                               "Time a client gets to send each request head; also the idle "
                               "keep-alive limit");
    app.add_option("--max-head", config.limits.max_head,
                   "Largest request head (request line + headers) accepted, in bytes")
        ->check(course::cli::Range(256, 1024 * 1024))
        ->capture_default_str();
    app.add_option("--max-clients", max_clients,
                   "Connections served at once; more get 503 Service Unavailable")
        ->check(course::cli::Range(1, 10000))
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        // The root, with every symlink and ".." resolved once, at start-up.
        config.root = course::open_root(root, "--root " + root);

        course::install_stop_handlers();
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        log_line("serving files from " + course::escape_invalid_utf8(root));

        // Declared after `listener`, so destroyed (joined) before it closes.
        std::list<Connection> connections;
        for (;;) {
            course::Fd client = course::accept_client(listener.get());  // throws on Ctrl-C
            std::string peer;
            try {
                peer = course::peer_address(client.get());
            } catch (const std::system_error& e) {  // it reset before we even looked: gone
                log_line(std::string("connection error: ") + e.what());
                continue;
            }

            // Join the threads whose clients have gone (instant: they have finished).
            connections.remove_if([](const Connection& c) { return c.done->load(); });
            if (connections.size() >= max_clients) {
                log_line(peer + " refused: " + std::to_string(max_clients) + " clients already");
                try {
                    send_error(client.get(), 503, false, false);
                } catch (const std::system_error&) {  // it went away: fine
                }
                continue;
            }

            Connection& connection = connections.emplace_back();
            connection.thread = std::jthread([client = std::move(client), peer = std::move(peer),
                                              done = connection.done, &config]() {
                try {
                    serve_connection(client.get(), peer, config);
                } catch (const course::StopRequested&) {
                    // Ctrl-C: leave quietly, main() is shutting down.
                } catch (const std::exception& e) {
                    log_line(peer + " connection error: " + e.what());  // reset, EPIPE...
                }
                done->store(true);
            });
        }
    });
}
