// framed_receiver: cuts the byte stream into messages by their 4-byte length headers.
//
// Serves clients one after another. It reads whatever each recv() returns and
// lets a course::FrameDecoder cut the stream into messages, so it works however
// the bytes are split or merged on the way. A header announcing more than
// --max-size costs that client its connection, before anything is allocated.
#include <iostream>
#include <string>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/framing.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

namespace {

// One client, until it closes. Throws on a protocol error or a lost connection.
void serve(int client, std::size_t max_size, std::size_t bufsize, double timeout) {
    // --8<-- [start:receive]
    course::FrameDecoder decoder(max_size);
    std::vector<char> buffer(bufsize);
    long count = 0;
    for (;;) {
        if (!course::wait_readable(client, timeout))
            throw course::ProtocolError("the client was silent longer than --timeout");
        const std::size_t n = course::recv_some(client, buffer.data(), buffer.size());
        if (n == 0) {  // the client closed: fine between frames, not inside one
            if (!decoder.at_boundary())
                throw course::ProtocolError("the client closed in the middle of a frame (" +
                                            std::to_string(decoder.partial_bytes()) +
                                            " bytes of it had arrived)");
            return;
        }

        // Whatever arrived (part of a header, three frames and a half, ...)
        // goes into the decoder; it hands back every frame now complete.
        std::string refused;
        try {
            decoder.feed(buffer.data(), n);
        } catch (const course::FrameTooLarge& e) {  // refused from its header alone
            refused = e.what();
        }
        while (auto message = decoder.next())
            std::cout << "message #" << ++count << " (" << message->size()
                      << " bytes): " << course::escape_invalid_utf8(*message) << '\n';
        if (!refused.empty()) throw course::ProtocolError(refused + " (--max-size)");
    }
    // --8<-- [end:receive]
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Receive length-prefixed frames and print each message (lesson 13)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8013;
    std::size_t max_size = course::default_max_frame;
    std::size_t bufsize = 64 * 1024;
    double timeout = 30;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--max-size", max_size, "Largest message accepted, in bytes")
        ->check(course::cli::Range(std::size_t{0}, course::largest_frame))
        ->capture_default_str();
    app.add_option("--bufsize", bufsize, "Bytes offered to each recv() (try 1: it still works)")
        ->check(course::cli::Range(1, 1 << 20))
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
                serve(client.get(), max_size, bufsize, timeout);
                std::cerr << "client " << who << " closed the connection\n";
            } catch (const std::exception& e) {  // ProtocolError, or a reset (system_error)
                std::cerr << "error: client " << who << ": " << e.what()
                          << "; dropping the connection\n";
            }
        }
    });
}
