// framed_echo_server: exercise 13.1 -- both directions framed: every frame comes back, upper-cased.
//
// framed_receiver only reads frames. A real protocol answers too, and the
// answer needs its own header, or the client has the sticky-packet problem
// all over again. Here every frame the client sends (4-byte big-endian length
// + payload) comes back as a frame of the same length whose payload has its
// ASCII letters upper-cased. In Python, the reply is
//
//     struct.pack("!I", len(payload)) + payload.upper()
//
// Serves clients one after another; a header over --max-size costs that client
// its connection (no reply), before anything of that size is allocated.
//
//   framed_echo_server --port 8013
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/framing.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

namespace {

// The 4 header bytes in front of a reply payload of `length` bytes: the
// length as an unsigned 32-bit number, most significant byte first ("network
// byte order", whatever order this CPU keeps integers in). Python:
// struct.pack("!I", length).
//
//   5 -> 00 00 00 05      300 -> 00 00 01 2c      66051 -> 00 01 02 03
std::string encode_header(std::uint32_t length) {
    // Exercise 13.1: build the 4 bytes yourself (shifts, or htonl + memcpy);
    // course::encode_length does the same, but here the point is to see how.
    // BEGIN SOLUTION 13.1
    // `length >> 24` moves the top byte down to the bottom 8 bits; the cast
    // to char keeps just those 8 bits. (htonl(length) + std::memcpy of its 4
    // bytes gives the same result: htonl puts the bytes in network order.)
    std::string bytes(course::frame_header_size, '\0');
    bytes[0] = static_cast<char>(length >> 24);
    bytes[1] = static_cast<char>(length >> 16);
    bytes[2] = static_cast<char>(length >> 8);
    bytes[3] = static_cast<char>(length);
    return bytes;
    // BEGIN STUB
    // static_cast<void>(length);  // unused until you write it
    // return std::string(course::frame_header_size, '\0');  // 00 00 00 00: always "empty"
    // END STUB
    // END SOLUTION
}

// The reply payload: ASCII a-z become A-Z; every other byte (digits, UTF-8
// bytes of Chinese characters, ...) stays as it is.
std::string upper_ascii(std::string payload) {
    for (char& c : payload)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return payload;
}

// Sends every byte, but gives up when the client takes nothing for `timeout`
// seconds: a client that never reads would otherwise block this server forever.
void send_within(int fd, std::string_view data, double timeout) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!course::wait_writable(fd, timeout))
                throw course::ProtocolError("the client stopped reading for longer than --timeout");
        } else if (errno != EINTR) {
            course::throw_errno("send");
        }
    }
}

// One client, until it closes. Returns how many frames it echoed; throws on a
// protocol error or a lost connection.
long serve(int client, std::size_t max_size, std::size_t bufsize, double timeout) {
    course::FrameDecoder decoder(max_size);  // lesson 13's decoder: any split works
    std::vector<char> buffer(bufsize);
    long echoed = 0;
    for (;;) {
        if (!course::wait_readable(client, timeout))
            throw course::ProtocolError("the client was silent longer than --timeout");
        const std::size_t n = course::recv_some(client, buffer.data(), buffer.size());
        if (n == 0) {  // the client closed: fine between frames, not inside one
            if (!decoder.at_boundary())
                throw course::ProtocolError("the client closed in the middle of a frame (" +
                                            std::to_string(decoder.partial_bytes()) +
                                            " bytes of it had arrived)");
            return echoed;
        }

        std::string refused;
        try {
            decoder.feed(buffer.data(), n);
        } catch (const course::FrameTooLarge& e) {  // refused from its header alone
            refused = e.what();
        }
        while (auto payload = decoder.next()) {
            // The reply: its own header, then the upper-cased payload (same length).
            // Header and payload leave in one send: fewer system calls.
            // (The header first, in its own statement: in `a + b` C++ may evaluate b
            // before a, and upper_ascii(std::move(...)) empties *payload.)
            std::string reply = encode_header(static_cast<std::uint32_t>(payload->size()));
            reply += upper_ascii(std::move(*payload));
            send_within(client, reply, timeout);
            ++echoed;
        }
        if (!refused.empty()) throw course::ProtocolError(refused + " (--max-size)");
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Echo every length-prefixed frame back, upper-cased (lesson 13, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8013;
    std::size_t max_size = course::default_max_frame;  // 1 MiB
    std::size_t bufsize = 64 * 1024;
    double timeout = 30;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--max-size", max_size, "Largest frame accepted, in bytes")
        ->check(course::cli::Range(std::size_t{0}, course::largest_frame))
        ->capture_default_str();
    app.add_option("--bufsize", bufsize, "Bytes offered to each recv() (try 1: it still works)")
        ->check(course::cli::Range(1, 1 << 20))
        ->capture_default_str();
    course::add_seconds_option(app, "--timeout", timeout,
                               "Drop a client that is silent (or stops reading) this long");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());

        for (;;) {  // clients one after another
            course::Fd client = course::accept_client(listener.get());
            const std::string who = course::peer_address(client.get());
            std::cerr << "client " << who << " connected\n";
            try {
                const long echoed = serve(client.get(), max_size, bufsize, timeout);
                std::cerr << "client " << who << " closed the connection (frames echoed: " << echoed
                          << ")\n";
            } catch (const std::exception& e) {  // ProtocolError, or a reset (system_error)
                std::cerr << "error: client " << who << ": " << e.what()
                          << "; dropping the connection\n";
            }
        }
    });
}
