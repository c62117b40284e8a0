// framed_sender: fix two: each message goes out as a 4-byte big-endian length, then its bytes.
//
//   framed_sender hello "a longer message"    two frames
//   printf 'one\ntwo\n' | framed_sender       one frame per stdin line
//
// No waiting for an "ok" (lesson 12): the header tells the receiver how many
// bytes belong to this message, so frames can follow each other back to back.
#include <cstdio>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/framing.hpp"
#include "course/io.hpp"
#include "course/net.hpp"

namespace {

// "00 00 00 05": the header as the bytes on the wire, for the log line.
std::string hex_bytes(const unsigned char* bytes, std::size_t size) {
    std::string text;
    for (std::size_t i = 0; i < size; ++i) {
        char pair[4];
        static_cast<void>(std::snprintf(pair, sizeof pair, i == 0 ? "%02x" : " %02x", bytes[i]));
        text += pair;
    }
    return text;
}

// The receiver hung up while we were sending (EPIPE, or ECONNRESET if it reset).
bool receiver_went_away(const std::system_error& e) {
    return e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset;
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Send each MESSAGE as a length-prefixed frame (lesson 13)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8013;
    double timeout = 10;
    std::vector<std::string> messages;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout, "Give up connecting after this long");
    app.add_option("messages", messages, "Messages to send (default: one per stdin line)");

    return course::run_main(app, argc, argv, [&] {
        if (messages.empty()) messages = course::read_all_messages();
        course::Fd sock = course::connect_tcp(host, port, timeout);

        for (std::size_t i = 0; i < messages.size(); ++i) {
            const std::string& payload = messages[i];
            if (payload.size() > course::largest_frame)
                throw course::FrameTooLarge(payload.size(), course::largest_frame);

            // --8<-- [start:frame]
            // The header: the payload's length as 4 bytes, most significant
            // byte first, built byte by byte in course::encode_length()
            // (common/src/framing.cpp). Python: struct.pack("!I", len(payload)).
            const auto header = course::encode_length(static_cast<std::uint32_t>(payload.size()));

            // Header and payload leave in one send_all(): fewer system calls.
            // Correctness does not depend on it: the receiver copes with any split.
            std::string frame(header.begin(), header.end());
            frame += payload;
            try {
                course::send_all(sock.get(), frame);
            } catch (const std::system_error& e) {
                if (!receiver_went_away(e)) throw;
                std::cerr << "the receiver closed the connection (" << i << " of "
                          << messages.size() << " messages were sent)\n";
                return 0;
            }
            // --8<-- [end:frame]

            std::cout << "sent message #" << i + 1 << ": header "
                      << hex_bytes(header.data(), header.size()) << " + " << payload.size()
                      << " bytes\n";
        }
        return 0;
    });
}
