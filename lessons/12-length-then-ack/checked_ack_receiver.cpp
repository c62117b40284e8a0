// checked_ack_receiver: exercise 12.1 -- fix one, receiving, with the peer's length checked first.
//
// The length a client sends is a promise we are about to act on: we allocate
// that many bytes and wait for them. Taken on trust, "99999999999" makes us
// try to allocate 100 GB, and "abc" or "-1" is not a length at all. So the
// length is checked BEFORE it is used: ASCII digits only, and at most
// --max-size. A client whose length fails the check gets the reply "error"
// (instead of "ok") and loses its connection; the receiver goes on with the
// next client.
//
//   checked_ack_receiver --port 8012        then: ack_sender hello
//   printf abc | nc 127.0.0.1 8012          -> error
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/framing.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

namespace {

// Bytes offered to the recv() of the length. A longer length is refused anyway
// (more than 10 digits is more than any --max-size), so 32 is plenty.
constexpr std::size_t length_buffer = 32;

// "5" -> 5. The length is only ASCII digits '0'..'9' (at least one; "007" is
// 7), and its value is at most `max_size`. Anything else ("", "abc", "5x",
// " 5", "+5", "-1", a value over max_size, also one too big for any integer
// type) returns nothing: the caller answers "error" and drops the client.
std::optional<std::size_t> parse_length(const std::string& digits, std::size_t max_size) {
    // Exercise 12.1: check every character, and build the value digit by digit,
    // giving up as soon as it is over max_size (so it can never overflow).
    // BEGIN SOLUTION 12.1
    if (digits.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;  // not a digit: not a length
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
        // max_size is below 2^32, so value stays below 2^36 here: no overflow.
        if (value > max_size) return std::nullopt;
    }
    return static_cast<std::size_t>(value);
    // BEGIN STUB
    // static_cast<void>(digits);  // unused until you write it
    // static_cast<void>(max_size);
    // return std::nullopt;  // for now every length is refused
    // END STUB
    // END SOLUTION
}

// One client, until it closes. Returns normally when it closes cleanly.
void serve(int client, std::size_t max_size, double timeout) {
    for (long count = 1;; ++count) {
        // 1. The length: one recv() (the sender sent the digits alone, then
        //    waits for our answer, so nothing else can have arrived yet).
        char digits[length_buffer];
        if (!course::wait_readable(client, timeout))
            throw course::ProtocolError("the client was silent longer than --timeout");
        const std::size_t n = course::recv_some(client, digits, sizeof digits);
        if (n == 0) return;  // the client closed between messages: all is well
        const std::string text(digits, n);

        // 2. Checked before anything is allocated: "error", or "ok" and go on.
        const std::optional<std::size_t> length = parse_length(text, max_size);
        if (!length) {
            course::send_all(client, "error");
            throw course::ProtocolError(
                "refused the length \"" + course::escape_invalid_utf8(text) +
                "\" (ASCII digits only, at most --max-size " + std::to_string(max_size) + ")");
        }
        course::send_all(client, "ok");

        // 3. Exactly `length` bytes. Allocating them is safe now: at most max_size.
        std::string body(*length, '\0');
        if (*length > 0 && !course::recv_exact(client, body.data(), *length, timeout))
            throw course::ProtocolError("the client closed before the body");

        std::cout << "message #" << count << " (" << *length
                  << " bytes): " << course::escape_invalid_utf8(body) << '\n';
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Receive length-then-ok-then-body messages, checking each length first "
        "(lesson 12, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8012;
    std::size_t max_size = course::default_max_frame;  // 1 MiB
    double timeout = 30;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--max-size", max_size, "Largest message accepted, in bytes")
        ->check(course::cli::Range(std::size_t{0}, course::largest_frame))
        ->capture_default_str();
    course::add_seconds_option(app, "--timeout", timeout, "Drop a client that is silent this long");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());

        for (;;) {  // clients one after another
            course::Fd client = course::accept_client(listener.get());
            const std::string who = course::peer_address(client.get());
            std::cerr << "client " << who << " connected\n";
            try {
                serve(client.get(), max_size, timeout);
                std::cerr << "client " << who << " closed the connection\n";
            } catch (const std::exception& e) {  // ProtocolError, or a reset (system_error)
                std::cerr << "error: client " << who << ": " << e.what()
                          << "; dropping the connection\n";
            }
        }
    });
}
