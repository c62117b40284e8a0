// http_request: parsing one HTTP/1.1 request head from the bytes a socket gave us.
//
// Kept apart from the server (and free of sockets) so that it can be unit-tested
// and fuzzed on its own: parse_request() only looks at a buffer and says
// "need more bytes", "here is a request (it used N bytes)" or "answer with
// status S and close".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

// How much of a peer's input we are willing to hold before the request is complete.
struct Limits {
    std::size_t max_head = 8 * 1024;  // request line + every header line
};

struct Request {
    std::string method;   // "GET"
    std::string target;   // "/images/logo.png?v=2", exactly as sent
    std::string version;  // "HTTP/1.1"
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
    std::size_t content_length = 0;  // from Content-Length (0 when absent)
    bool chunked = false;            // a Transfer-Encoding header was sent

    // Does a body follow the head? This server never wants one.
    [[nodiscard]] bool has_body() const { return content_length > 0 || chunked; }

    // The first header with this name (names are case-insensitive), if any.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;

    // Should the connection stay open after the reply? HTTP/1.1: yes unless
    // "Connection: close"; HTTP/1.0: only with "Connection: keep-alive".
    [[nodiscard]] bool keep_alive() const;
};

enum class Outcome {
    incomplete,  // no blank line yet: read more bytes and try again
    complete,    // `request` is filled in and `consumed` bytes were used
    error,       // answer `status` (400, 414, 431, 505) and close
};

struct ParseResult {
    Outcome outcome = Outcome::incomplete;
    Request request;
    std::size_t consumed = 0;  // bytes of the buffer this request used (head only)
    int status = 0;            // for Outcome::error
    std::string reason;        // for Outcome::error: what was wrong, for the log
};

// Looks for one complete request head at the start of `buffer`. It checks the
// syntax only; what the method or the target mean is the server's business.
ParseResult parse_request(std::string_view buffer, const Limits& limits = {});

// "%20" -> " ". Nothing for a malformed escape ("%4", "%zz") or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view text);

// The request target as a path relative to the server's root ("a/b.txt"), or
// nothing when it must be refused: not starting with "/", a ".." segment, a
// backslash or a NUL (after percent-decoding), a bad escape. The query ("?...")
// is dropped. "/" gives "" (the root folder itself).
std::optional<std::string> target_to_relative_path(std::string_view target);

// "text/html; charset=utf-8" for "index.html": a small table by file extension.
std::string_view content_type_for(std::string_view path);

// "Not Found" for 404.
std::string_view reason_phrase(int status);

}  // namespace http
