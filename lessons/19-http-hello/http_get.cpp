// http_get: a tiny HTTP/1.1 client that fetches paths over ONE kept-alive connection.
//
//   http_get / /hello.txt /missing      three requests, one TCP connection
//
// Prints each response's status line and headers, then the body when it is
// text (or a one-line summary when it is not). Shows how a client finds where
// one response ends and the next begins: the Content-Length header.
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <iostream>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/text.hpp"

namespace {

constexpr std::size_t max_head = 64 * 1024;  // we refuse a server that sends more headers than this

// Reads more bytes into `buffer`, bounded by the timeout; false when the server closed.
bool read_more(int fd, std::string& buffer, double timeout) {
    if (!course::wait_readable(fd, timeout))
        throw std::system_error(ETIMEDOUT, std::generic_category(), "waiting for the response");
    std::array<char, 16 * 1024> chunk{};
    const std::size_t n = course::recv_some(fd, chunk.data(), chunk.size());
    buffer.append(chunk.data(), n);
    return n > 0;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Fetch PATHs from an HTTP server over one keep-alive connection (lesson 19)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8019;
    double timeout = 5;
    bool head = false;
    std::vector<std::string> paths;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout, "Give up waiting for a reply after this");
    app.add_flag("--head", head, "Send HEAD instead of GET (headers only, no body)");
    app.add_option("paths", paths, "Paths to fetch (default: /)");

    return course::run_main(app, argc, argv, [&] {
        if (paths.empty()) paths.emplace_back("/");
        course::Fd sock = course::connect_tcp(host, port, timeout);
        const std::string host_header =
            (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
            std::to_string(port);

        std::string buffer;  // what the server sent that we have not used yet
        for (std::size_t i = 0; i < paths.size(); ++i) {
            // --8<-- [start:request]
            const bool last = i + 1 == paths.size();
            std::string request = (head ? "HEAD " : "GET ") + paths[i] + " HTTP/1.1\r\n";
            request += "Host: " + host_header + "\r\n";  // required by HTTP/1.1
            request += last ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
            request += "\r\n";
            course::send_all(sock.get(), request);
            // --8<-- [end:request]

            // The head: everything up to the first empty line.
            std::size_t end;
            while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
                if (buffer.size() > max_head)
                    throw course::ProtocolError("response head larger than 64 KiB");
                if (!read_more(sock.get(), buffer, timeout)) {
                    std::cerr << "server closed the connection\n";
                    return 0;
                }
            }
            const std::string response_head = buffer.substr(0, end);
            buffer.erase(0, end + 4);
            std::cout << course::escape_invalid_utf8(response_head) << "\n\n";

            // Content-Length says how many body bytes follow (HEAD: none do).
            std::uint64_t length = 0;
            std::string type;
            bool server_closes = false;
            std::size_t pos = 0;
            while ((pos = response_head.find("\r\n", pos)) != std::string::npos) {
                pos += 2;
                const std::string line =
                    response_head.substr(pos, response_head.find("\r\n", pos) - pos);
                const std::string name = lowercase(line.substr(0, line.find(':')));
                const std::size_t value = line.find_first_not_of(' ', line.find(':') + 1);
                if (value == std::string::npos) continue;
                if (name == "content-length")
                    std::from_chars(line.data() + value, line.data() + line.size(), length);
                if (name == "content-type") type = line.substr(value);
                if (name == "connection") server_closes = lowercase(line.substr(value)) == "close";
            }
            if (head) length = 0;

            // The body, streamed: text is printed, anything else summarised.
            const bool text = type.rfind("text/", 0) == 0;
            std::uint64_t got = 0;
            while (got < length) {
                if (buffer.empty() && !read_more(sock.get(), buffer, timeout))
                    throw course::ProtocolError("server closed after " + std::to_string(got) +
                                                " of " + std::to_string(length) + " body bytes");
                const auto take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - got));
                if (text)
                    std::cout << course::escape_invalid_utf8(
                        std::string_view(buffer).substr(0, take));
                buffer.erase(0, take);
                got += take;
            }
            if (!text && length > 0) std::cout << "(" << length << " bytes of " << type << ")\n";
            if (server_closes && !last) {  // it said so: no point sending the rest
                std::cerr << "server closed the connection\n";
                return 0;
            }
        }
        return 0;
    });
}
