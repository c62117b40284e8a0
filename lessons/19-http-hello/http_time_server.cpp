// http_time_server: exercise 19.1 -- an HTTP response built by hand: status line, headers, body.
//
// http_server sends files; this server sends an answer it computes, the way a
// web API does: GET /time gets a small JSON document with the local time.
//
//   http_time_server --port 8019     then: curl -i http://127.0.0.1:8019/time
//
//   HTTP/1.1 200 OK
//   Content-Type: application/json
//   Content-Length: 31
//   Connection: close
//
//   {"time": "2026-01-02 03:04:05"}
//
// Any other path is 404, any method but GET and HEAD is 405, and HEAD gets the
// head without the body. It reuses the lesson's request parser (with its limit
// of 8 KiB per request head), answers one request per connection and closes,
// and serves clients one after another (http_server shows the threaded way).
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"
#include "http_request.hpp"

// What to answer, before it is turned into bytes.
struct Reply {
    int status = 200;                        // 200, 404, 405, ...
    std::string content_type;                // "application/json"
    std::string body;                        // the bytes after the blank line
    std::vector<std::string> extra_headers;  // whole lines without "\r\n": "Allow: GET, HEAD"
};

// The bytes of the whole response to send for `reply`. `head_only` is true
// for a HEAD request: the same head (Content-Length included), no body.
std::string build_response(const Reply& reply, bool head_only) {
    // Exercise 19.1: the status line "HTTP/1.1 200 OK" (http::reason_phrase gives
    // "OK"), the headers Content-Type, Content-Length (the body's size in bytes)
    // and "Connection: close", then reply.extra_headers, every line ending in
    // "\r\n"; then the empty line "\r\n"; then the body, unless head_only.
    // BEGIN SOLUTION 19.1
    std::string response = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                           std::string(http::reason_phrase(reply.status)) + "\r\n";
    response += "Content-Type: " + reply.content_type + "\r\n";
    // Bytes, not characters: body.size() counts every byte of a UTF-8 text.
    response += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    response += "Connection: close\r\n";  // we close after one answer, and say so
    for (const std::string& line : reply.extra_headers)
        response += line + "\r\n";
    response += "\r\n";  // the empty line: the head ends here
    if (!head_only) response += reply.body;
    return response;
    // BEGIN STUB
    // static_cast<void>(head_only);  // unused until you write it
    // return "HTTP/1.1 200 OK\r\n\r\n" + reply.body;  // the seed's bare answer: no headers
    // END STUB
    // END SOLUTION
}

// "2026-01-02 03:04:05", the local time (as the lesson 08 bot tells it).
std::string local_time() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    std::array<char, 32> text{};
    const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%d %H:%M:%S", &local);
    return {text.data(), length};
}

// What a parsed request gets: the routing of this tiny web API.
Reply route(const http::Request& request) {
    if (request.method != "GET" && request.method != "HEAD")
        return {405, "text/plain; charset=utf-8", "405 Method Not Allowed\n", {"Allow: GET, HEAD"}};
    const std::string path = request.target.substr(0, request.target.find_first_of("?#"));
    if (path != "/time") return {404, "text/plain; charset=utf-8", "404 Not Found\n", {}};
    return {200, "application/json", "{\"time\": \"" + local_time() + "\"}", {}};
}

// Reads one request head (at most limits.max_head bytes, within `timeout`
// seconds), answers it, and returns the status sent (0: the client sent nothing).
int serve_one(int fd, const std::string& peer, double timeout) {
    const http::Limits limits;  // 8 KiB of request head at most: a client cannot make us hoard
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    std::string buffer;
    std::array<char, 4096> chunk{};
    http::ParseResult parsed = http::parse_request(buffer, limits);
    while (parsed.outcome == http::Outcome::incomplete) {
        const std::chrono::duration<double> left = deadline - std::chrono::steady_clock::now();
        if (left.count() <= 0 || !course::wait_readable(fd, left.count())) {
            if (buffer.empty()) return 0;  // connected and said nothing: just close
            course::send_all(
                fd, build_response({408, "text/plain; charset=utf-8", "408 Request Timeout\n", {}},
                                   false));
            return 408;
        }
        const std::size_t n = course::recv_some(fd, chunk.data(), chunk.size());
        if (n == 0) return 0;  // closed before finishing its request
        buffer.append(chunk.data(), n);
        parsed = http::parse_request(buffer, limits);
    }

    Reply reply;
    bool head_only = false;
    if (parsed.outcome == http::Outcome::error) {  // 400, 414, 431, 505: the parser says why
        std::cerr << peer << " bad request: " << parsed.reason << '\n';
        reply = {parsed.status,
                 "text/plain; charset=utf-8",
                 std::to_string(parsed.status) + " " +
                     std::string(http::reason_phrase(parsed.status)) + "\n",
                 {}};
    } else {
        reply = route(parsed.request);
        head_only = parsed.request.method == "HEAD";
        std::cerr << peer << " \""
                  << course::escape_invalid_utf8(parsed.request.method + " " +
                                                 parsed.request.target)
                  << "\" " << reply.status << '\n';
    }
    course::send_all(fd, build_response(reply, head_only));  // in ONE send (see "Nagle")
    return reply.status;
}

// A "lingering close": send our FIN first (shutdown), then read and drop what
// the client may still be sending, for at most a second. Closing a socket with
// unread bytes in it makes the kernel send a reset instead of a FIN, and the
// reset can destroy the answer before the client has read it.
void close_gently(int fd) {
    ::shutdown(fd, SHUT_WR);
    std::array<char, 4096> sink{};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline && course::wait_readable(fd, 0.2))
        if (::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT) <= 0) return;  // EOF or error
}

int main(int argc, char** argv) {
    course::cli::App app{"Answer GET /time with the local time as JSON (lesson 19, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8019;
    double timeout = 5;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout,
                               "Time a client gets to send its request head");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        for (;;) {  // one client after another, one request each
            course::Fd client = course::accept_client(listener.get());
            try {
                serve_one(client.get(), course::peer_address(client.get()), timeout);
                close_gently(client.get());
            } catch (const std::system_error& e) {  // reset, EPIPE: that client's loss only
                std::cerr << "client dropped: " << e.what() << '\n';
            }
        }
    });
}
