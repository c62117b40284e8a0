// bulk_sender: one send() may take fewer bytes than you asked for; a sendall() loop sends them all.
//
//   bulk_sender --bytes 16777216 --mode send      one send(), bounded by --timeout
//   bulk_sender --bytes 16777216 --mode sendall   loop until every byte is sent
//
// Both print the sha256 of what they handed to the kernel, to compare with
// what slow_reader prints for what it received.
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/sha256.hpp"

namespace {

// N bytes that are not all alike and the same on every run: a 64 KiB block
// of xorshift noise, repeated, each copy stamped with its number in its first
// 8 bytes (big-endian). A lost, repeated or reordered chunk changes the sha256.
std::string make_data(std::size_t size) {
    constexpr std::size_t block = 64 * 1024;
    std::string noise(block, '\0');
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (char& byte : noise) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        byte = static_cast<char>(state & 0xff);
    }
    std::string data;
    data.reserve(size + block);
    for (std::uint64_t number = 0; data.size() < size; ++number) {
        for (int shift = 56; shift >= 0; shift -= 8)
            data += static_cast<char>((number >> shift) & 0xff);
        data.append(noise, 8, block - 8);
    }
    data.resize(size);
    return data;
}

std::string seconds_text(double seconds) {
    std::ostringstream text;
    text << seconds;  // 0.3, not 0.300000
    return text.str();
}

// --8<-- [start:send]
// ONE send() call. The socket is blocking, so send() waits for room in the
// send buffer, but SO_SNDTIMEO bounds that wait: when it runs out, send()
// returns what it managed to queue so far -- possibly much less than asked.
std::size_t send_once(int fd, std::string_view data, double timeout) {
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(timeout);
    limit.tv_usec = static_cast<suseconds_t>((timeout - std::floor(timeout)) * 1e6);
    course::check(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit),
                  "setsockopt SO_SNDTIMEO");
    // MSG_NOSIGNAL: if the reader is gone we get EPIPE instead of dying of SIGPIPE.
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) course::throw_errno("send");
        n = 0;  // timed out before even one byte fitted
    }
    return static_cast<std::size_t>(n);
}
// --8<-- [end:send]

// --8<-- [start:sendall]
// What Python's sendall() does: call send() again and again, each time with
// the part not sent yet, until nothing is left. MSG_DONTWAIT makes every call
// take only what fits right now; in between we wait (at most `timeout`
// seconds each time) until the socket can take more.
void send_everything(int fd, std::string_view data, double timeout) {
    std::size_t sent = 0;
    long calls = 0, short_calls = 0;
    while (sent < data.size()) {
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        ++calls;
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) course::throw_errno("send");
            // The send buffer is full: wait until the reader makes room.
            if (!course::wait_writable(fd, timeout))
                throw std::system_error(ETIMEDOUT, std::generic_category(),
                                        "send: the reader took nothing for " +
                                            seconds_text(timeout) + " s, after " +
                                            std::to_string(sent) + " bytes");
            continue;
        }
        if (static_cast<std::size_t>(n) < data.size() - sent) ++short_calls;  // a partial send
        sent += static_cast<std::size_t>(n);
    }
    std::cerr << "sendall: " << calls << " send() calls, " << short_calls
              << " of them sent less than asked\n";
}
// --8<-- [end:sendall]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"send() versus a sendall() loop (lesson 10)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8010;
    std::size_t bytes = 16 << 20;
    std::string mode = "sendall";
    int sndbuf = 0;
    double timeout = 2;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--bytes", bytes, "How many bytes to send")
        ->check(course::cli::Range(std::size_t{1}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_option("--mode", mode, "send: one send() call; sendall: loop until all are sent")
        ->check(course::cli::IsMember({"send", "sendall"}))
        ->capture_default_str();
    app.add_option("--sndbuf", sndbuf, "SO_SNDBUF in bytes (0: the system's default)")
        ->check(course::cli::Range(0, 64 << 20))
        ->capture_default_str();
    course::add_seconds_option(app, "--timeout", timeout,
                               "Bound on connecting and on each wait for room to send");

    return course::run_main(app, argc, argv, [&] {
        const std::string data = make_data(bytes);
        course::Fd sock = course::connect_tcp(host, port, timeout);
        if (sndbuf > 0)
            course::check(::setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf),
                          "setsockopt SO_SNDBUF");
        int actual = 0;
        socklen_t length = sizeof actual;
        course::check(::getsockopt(sock.get(), SOL_SOCKET, SO_SNDBUF, &actual, &length),
                      "getsockopt SO_SNDBUF");
        std::cerr << "connected to " << course::peer_address(sock.get()) << "; SO_SNDBUF is "
                  << actual << " bytes\n";

        if (mode == "send") {
            const std::size_t accepted = send_once(sock.get(), data, timeout);
            std::cout << "send() accepted " << accepted << " of " << data.size()
                      << " bytes, sha256 " << course::sha256_hex({data.data(), accepted}) << '\n';
            if (accepted < data.size())
                std::cerr << "the other " << data.size() - accepted
                          << " bytes were never sent: a single send() is not enough\n";
        } else {
            send_everything(sock.get(), data, timeout);
            std::cout << "sent " << data.size() << " bytes, sha256 " << course::sha256_hex(data)
                      << '\n';
        }
        return 0;  // closing sends FIN after the queued bytes: the reader sees them all, then EOF
    });
}
