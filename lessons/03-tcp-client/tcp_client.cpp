// tcp_client: connects to a TCP server, sends each stdin line, and prints what comes back.
//
// The seeds' TCP client in C++: socket(), connect(), then send() and recv() on
// the connection. Unlike UDP there is no address on each message: connect()
// fixed the peer once. And a recv() of zero bytes means the server closed.
//
//   printf 'hello\nworld\n' | tcp_client --port 8004
//   tcp_client --encoding gbk            a Windows server that answers in GBK
#include <sys/socket.h>
#include <sys/time.h>

#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/text.hpp"

// SO_SNDTIMEO and SO_RCVTIMEO make a blocking call give up after a while. On
// Linux SO_SNDTIMEO also bounds connect(). Zero would mean "never time out".
void set_socket_timeouts(int fd, double seconds) {
    const double whole = std::floor(seconds);
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(whole);
    limit.tv_usec = static_cast<suseconds_t>((seconds - whole) * 1e6);
    if (limit.tv_sec == 0 && limit.tv_usec == 0) limit.tv_usec = 1;
    course::check(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit), "SO_SNDTIMEO");
    course::check(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit), "SO_RCVTIMEO");
}

// --8<-- [start:connect]
// Tries every address the name has (localhost may be ::1 and 127.0.0.1), the
// way Python's socket.create_connection() does, and returns the first that answers.
course::Fd connect_to(const std::string& host, std::uint16_t port, double timeout) {
    std::system_error last_error(ENOENT, std::generic_category(), "connect to " + host);
    for (const course::Endpoint& server : course::resolve(host, port, SOCK_STREAM)) {
        course::Fd sock(course::check(::socket(server.family, SOCK_STREAM, 0), "socket"));
        set_socket_timeouts(sock.get(), timeout);
        if (::connect(sock.get(), server.addr(), server.length) == 0) return sock;
        // A connect() cut short by SO_SNDTIMEO reports EINPROGRESS: call it a timeout.
        const int error = errno == EINPROGRESS ? ETIMEDOUT : errno;
        last_error =
            std::system_error(error, std::generic_category(), "connect to " + server.to_string());
    }  // a failed socket is closed here, by course::Fd, before the next try
    throw last_error;
}
// --8<-- [end:connect]

// --8<-- [start:send]
// One message = the line's bytes in one send(). send() may take fewer bytes
// than offered (when the socket's buffer is full), so we go round until all are
// gone: that loop is what Python calls sendall(). MSG_NOSIGNAL: a server that
// went away gives an error (EPIPE), not a fatal SIGPIPE.
void send_message(int fd, const std::string& message) {
    std::size_t sent = 0;
    while (sent < message.size()) {
        ssize_t n = ::send(fd, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) errno = ETIMEDOUT;
        course::check(n, "send");
        sent += static_cast<std::size_t>(n);
    }
}
// --8<-- [end:send]

int main(int argc, char** argv) {
    course::cli::App app{"Send each stdin line to a TCP server and print each reply (lesson 03)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8004;  // lesson 04's echo server: the natural thing to talk to
    double timeout = 5.0;
    std::string encoding = "utf-8";
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout,
                               "Give up when connecting, sending or a reply takes longer");
    app.add_option("--encoding", encoding, "The server's text encoding, e.g. gbk (Windows)")
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&] {
        const bool utf8 = encoding == "utf-8" || encoding == "UTF-8" || encoding == "utf8";
        if (!utf8) {
            try {
                course::to_utf8("", encoding);  // does iconv know this encoding at all?
            } catch (const std::system_error&) {
                throw course::UsageError("unknown encoding: " + encoding);
            }
        }

        course::Fd sock = connect_to(host, port, timeout);
        const std::string server = course::peer_address(sock.get());

        std::vector<char> buffer(1024);
        while (auto message = course::read_message()) {  // ends at EOF or an empty line
            send_message(sock.get(), *message);

            // --8<-- [start:recv]
            // One recv() of up to 1024 bytes, as in the seed. A long reply may
            // take several recv() calls: the rest shows up with the next one
            // (TCP is a stream of bytes, not of messages: see lesson 11).
            ssize_t n = ::recv(sock.get(), buffer.data(), buffer.size(), 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                std::ostringstream what;
                what << "no reply from " << server << " within " << timeout << " s";
                throw std::system_error(ETIMEDOUT, std::generic_category(), what.str());
            }
            course::check(n, "recv from " + server);
            if (n == 0) {
                // Zero bytes is not an empty message: it is how TCP says
                // "the other side closed the connection" (Python: data == b"").
                std::cerr << "server " << server << " closed the connection\n";
                return 0;
            }
            // --8<-- [end:recv]

            // --8<-- [start:decode]
            // The socket gave us bytes. To print them we need to know which
            // encoding they are in: a Chinese Windows server sends GBK, where
            // 你 is the two bytes C4 E3 instead of UTF-8's E4 BD A0.
            const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
            std::cout << (utf8 ? course::escape_invalid_utf8(bytes)
                               : course::to_utf8(bytes, encoding))
                      << '\n';
            // --8<-- [end:decode]
        }
        return 0;  // sock is closed by course::Fd: the server's recv() then returns 0
    });
}
