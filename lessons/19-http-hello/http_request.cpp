// http_request: the request-head parser of lesson 19 (no sockets here; see the header).
#include "http_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace http {

namespace {

// A header name or a method is a "token": letters, digits and a few symbols (RFC 9110 5.6.2).
bool is_tchar(unsigned char c) {
    if (std::isalnum(c)) return true;
    constexpr std::string_view symbols = "!#$%&'*+-.^_`|~";
    return symbols.find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return is_tchar(c); });
}

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

ParseResult failure(int status, std::string reason) {
    ParseResult result;
    result.outcome = Outcome::error;
    result.status = status;
    result.reason = std::move(reason);
    return result;
}

// Splits `head` (everything before the blank line) into lines. A line ends at
// "\r\n" or, leniently, at a bare "\n"; a lone "\r" anywhere else is refused,
// because two programs that disagree on where a line ends can be fooled into
// reading different requests ("request smuggling").
std::optional<std::vector<std::string_view>> split_lines(std::string_view head) {
    std::vector<std::string_view> lines;
    while (!head.empty()) {
        std::size_t end = head.find('\n');
        std::string_view line = head.substr(0, end);
        head.remove_prefix(end == std::string_view::npos ? head.size() : end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find('\r') != std::string_view::npos) return std::nullopt;
        lines.push_back(line);
    }
    return lines;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (equals_ignoring_case(key, name)) return std::string_view(value);
    return std::nullopt;
}

bool Request::keep_alive() const {
    const auto connection = header("Connection");
    // "Connection" holds a comma-separated list of options; look for the one we care about.
    auto has_option = [&](std::string_view option) {
        if (!connection) return false;
        std::string_view rest = *connection;
        while (!rest.empty()) {
            std::size_t comma = rest.find(',');
            if (equals_ignoring_case(trim(rest.substr(0, comma)), option)) return true;
            rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
        }
        return false;
    };
    if (version == "HTTP/1.0") return has_option("keep-alive");
    return !has_option("close");
}

// --8<-- [start:parse]
ParseResult parse_request(std::string_view buffer, const Limits& limits) {
    // Browsers may send an extra CRLF after a previous request: skip empty lines first.
    std::size_t start = 0;
    while (start < buffer.size() && start < limits.max_head &&
           (buffer[start] == '\r' || buffer[start] == '\n'))
        ++start;

    // The head ends at the first empty line: "\r\n\r\n" (or "\n\n" from a lenient client).
    // We only ever look at the first max_head bytes, so a peer cannot make us
    // hold (or scan) an unbounded amount of input.
    const std::string_view window = buffer.substr(0, limits.max_head);
    std::size_t head_end = std::string_view::npos;
    std::size_t body_start = 0;
    for (std::size_t nl = window.find('\n', start); nl != std::string_view::npos;
         nl = window.find('\n', nl + 1)) {
        std::size_t next = nl + 1;
        if (next < window.size() && window[next] == '\r') ++next;
        if (next < window.size() && window[next] == '\n') {
            head_end = nl;  // the last header line ends here
            body_start = next + 1;
            break;
        }
    }
    if (head_end == std::string_view::npos) {
        if (buffer.size() < limits.max_head) return {};  // Outcome::incomplete: read more
        if (window.find('\n', start) == std::string_view::npos)
            return failure(
                414, "request line longer than " + std::to_string(limits.max_head) + " bytes");
        return failure(431,
                       "request head longer than " + std::to_string(limits.max_head) + " bytes");
    }

    const auto lines = split_lines(buffer.substr(start, head_end - start));
    if (!lines || lines->empty()) return failure(400, "stray carriage return in the head");

    // The request line: METHOD SP TARGET SP VERSION, single spaces, nothing else.
    ParseResult result;
    Request& request = result.request;
    const std::string_view line = lines->front();
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return failure(400, "request line is not METHOD TARGET VERSION");
    request.method = line.substr(0, sp1);
    request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    request.version = line.substr(sp2 + 1);
    if (!is_token(request.method)) return failure(400, "method is not a token");
    if (request.target.empty() || !std::all_of(request.target.begin(), request.target.end(),
                                               [](char c) { return c > 0x20 && c < 0x7f; }))
        return failure(400, "target has spaces, control or non-ASCII bytes");
    const std::string_view v = request.version;
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" ||
        !std::isdigit(static_cast<unsigned char>(v[5])) || v[6] != '.' ||
        !std::isdigit(static_cast<unsigned char>(v[7])))
        return failure(400, "version is not HTTP/x.y");
    if (v != "HTTP/1.1" && v != "HTTP/1.0") return failure(505, "unsupported " + request.version);

    // Header lines: NAME ":" OWS VALUE OWS.
    constexpr std::size_t max_headers = 100;
    for (std::size_t i = 1; i < lines->size(); ++i) {
        const std::string_view header = (*lines)[i];
        if (header.front() == ' ' || header.front() == '\t')
            return failure(400, "folded header line (obsolete)");
        const std::size_t colon = header.find(':');
        if (colon == std::string_view::npos) return failure(400, "header line without ':'");
        const std::string_view name = header.substr(0, colon);
        if (!is_token(name)) return failure(400, "bad header name (space before ':'?)");
        const std::string_view value = trim(header.substr(colon + 1));
        if (std::any_of(value.begin(), value.end(),
                        [](char c) { return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f; }))
            return failure(400, "control character in a header value");
        if (request.headers.size() == max_headers) return failure(431, "too many header lines");
        request.headers.emplace_back(name, value);
    }

    // HTTP/1.1 needs exactly one Host header (RFC 9112 3.2): that is how one
    // server on one address can host many sites.
    const auto hosts =
        std::count_if(request.headers.begin(), request.headers.end(),
                      [](const auto& h) { return equals_ignoring_case(h.first, "Host"); });
    if (request.version == "HTTP/1.1" && hosts != 1)
        return failure(400, hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host");

    // Content-Length: digits only, and every copy must agree.
    bool seen_length = false;
    for (const auto& [name, value] : request.headers) {
        if (equals_ignoring_case(name, "Transfer-Encoding")) request.chunked = true;
        if (!equals_ignoring_case(name, "Content-Length")) continue;
        std::size_t length = 0;
        const auto [end, error] =
            std::from_chars(value.data(), value.data() + value.size(), length);
        if (value.empty() || error != std::errc() || end != value.data() + value.size())
            return failure(400, "bad Content-Length");
        if (seen_length && length != request.content_length)
            return failure(400, "conflicting Content-Length headers");
        seen_length = true;
        request.content_length = length;
    }
    if (request.chunked && seen_length)
        return failure(400, "both Transfer-Encoding and Content-Length");

    result.outcome = Outcome::complete;
    result.consumed = body_start;
    return result;
}
// --8<-- [end:parse]

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;  // "%4" at the very end
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        const char decoded = static_cast<char>(high * 16 + low);
        if (decoded == '\0') return std::nullopt;
        out += decoded;
        i += 2;
    }
    return out;
}

// --8<-- [start:confine]
std::optional<std::string> target_to_relative_path(std::string_view target) {
    // Only "origin-form" targets: "/path?query". The query means nothing to a file server.
    if (target.empty() || target.front() != '/') return std::nullopt;
    target = target.substr(0, target.find_first_of("?#"));

    // Decode FIRST, check AFTER: "%2e%2e" is "..", and checking before decoding
    // is the classic directory-traversal bug.
    const auto decoded = percent_decode(target);
    if (!decoded || decoded->find('\\') != std::string::npos) return std::nullopt;

    // Walk the segments: skip empty ones and ".", refuse "..".
    std::string relative;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        const std::size_t slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
        if (segment.empty() || segment == ".") continue;
        if (segment == "..") return std::nullopt;
        if (!relative.empty()) relative += '/';
        relative += segment;
    }
    return relative;
}
// --8<-- [end:confine]

std::string_view content_type_for(std::string_view path) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> table{{
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".pdf", "application/pdf"},
        {".wasm", "application/wasm"},
    }};
    const std::size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const std::size_t dot = name.rfind('.');
    if (dot != std::string_view::npos) {
        const std::string_view extension = name.substr(dot);
        for (const auto& [known, type] : table)
            if (equals_ignoring_case(extension, known)) return type;
    }
    return "application/octet-stream";  // "just bytes": the browser offers to download it
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 301:
            return "Moved Permanently";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

}  // namespace http
