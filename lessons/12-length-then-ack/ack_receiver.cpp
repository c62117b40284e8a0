// ack_receiver: fix one, receiving: read the length, answer "ok", read exactly that many bytes.
//
// Serves clients one after another. A length that is not digits, or is over
// --max-size, costs that client its connection; the receiver goes on.
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <system_error>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/framing.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

namespace {

// The longest length we accept has 10 digits (4294967295); one more byte lets
// us notice a longer one.
constexpr std::size_t max_digits = 10;

// "5" -> 5. Anything but 1..10 ASCII digits, or a value over max_size, is the
// client's mistake: throw, and the caller drops the connection.
std::size_t parse_length(const std::string& digits, std::size_t max_size) {
    if (digits.empty() || digits.size() > max_digits ||
        digits.find_first_not_of("0123456789") != std::string::npos)
        throw course::ProtocolError("expected a length in ASCII digits, got \"" +
                                    course::escape_invalid_utf8(digits) +
                                    "\" (did the sender send the body without waiting for ok?)");
    const unsigned long long length = std::stoull(digits);
    if (length > max_size)
        throw course::ProtocolError("a message of " + digits + " bytes is over --max-size " +
                                    std::to_string(max_size));
    return static_cast<std::size_t>(length);
}

// One client, until it closes. Returns normally when it closes cleanly.
void serve(int client, std::size_t max_size, double timeout) {
    for (long count = 1;; ++count) {
        // --8<-- [start:protocol]
        // 1. The length: one recv() (the sender sent the digits alone, then
        //    waits for our ok, so nothing else can have arrived yet).
        char digits[max_digits + 1];
        if (!course::wait_readable(client, timeout))
            throw course::ProtocolError("the client was silent longer than --timeout");
        const std::size_t n = course::recv_some(client, digits, sizeof digits);
        if (n == 0) return;  // the client closed between messages: all is well
        const std::size_t length = parse_length(std::string(digits, n), max_size);

        // 2. The acknowledgement: "go ahead, I know how much to read".
        course::send_all(client, "ok");

        // 3. Exactly `length` bytes: no more (they would be the next message's
        //    digits), no less (recv_exact loops until it has them all).
        std::string body(length, '\0');
        if (length > 0 && !course::recv_exact(client, body.data(), length, timeout))
            throw course::ProtocolError("the client closed before the body");
        // --8<-- [end:protocol]

        std::cout << "message #" << count << " (" << length
                  << " bytes): " << course::escape_invalid_utf8(body) << '\n';
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Receive length-then-ok-then-body messages and print them (lesson 12)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8012;
    std::size_t max_size = course::default_max_frame;
    double timeout = 30;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--max-size", max_size, "Largest message accepted, in bytes")
        ->check(course::cli::Range(std::size_t{0}, course::largest_frame))
        ->capture_default_str();
    course::add_seconds_option(app, "--timeout", timeout, "Drop a client that is silent this long");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
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
