// ack_sender: fix one for sticky packets: send the length, wait for "ok", then send the body.
//
//   ack_sender hello "a longer message"     two messages
//   printf 'one\ntwo\n' | ack_sender        one message per stdin line
//
// It works because the receiver learns each message's length before the
// message. The price is printed: one extra round trip (a wait for "ok") per message.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/console.hpp"
#include "course/error.hpp"
#include "course/framing.hpp"
#include "course/io.hpp"
#include "course/net.hpp"

namespace {

// The receiver hung up while we were sending (EPIPE, or ECONNRESET if it reset).
bool receiver_went_away(const std::system_error& e) {
    return e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset;
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Send each MESSAGE as: its length in digits, wait for ok, the body (lesson 12)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8012;
    double timeout = 10;
    bool nodelay = false;
    std::vector<std::string> messages;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout,
                               "Give up when the receiver is silent this long");
    app.add_flag("--nodelay", nodelay,
                 "Set TCP_NODELAY: without it, Nagle's algorithm and the receiver's delayed ACK "
                 "can hold each length back for ~40 ms");
    app.add_option("messages", messages, "Messages to send (default: one per stdin line)");

    return course::run_main(app, argc, argv, [&] {
        if (messages.empty()) messages = course::read_all_messages();
        course::Fd sock = course::connect_tcp(host, port, timeout);
        if (nodelay) {
            // Our pattern is write (body), write (next length), read (ok). Nagle's
            // algorithm holds the second small write until the first is
            // acknowledged, and the receiver delays that ACK (it has nothing to
            // send yet), often by 40 ms. TCP_NODELAY sends the length at once.
            int on = 1;
            course::check(::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on),
                          "setsockopt TCP_NODELAY");
        }

        long round_trips = 0;
        std::size_t i = 0;
        try {
            for (; i < messages.size(); ++i) {
                const std::string& body = messages[i];
                using Clock = std::chrono::steady_clock;
                const auto started = Clock::now();

                // --8<-- [start:protocol]
                // 1. The length, as ASCII digits ("5"), in one send.
                course::send_all(sock.get(), std::to_string(body.size()));

                // 2. Wait for the receiver's "ok". Until it comes we send nothing
                //    more, so the digits cannot stick to the body. This wait is the
                //    extra round trip: a trip to the receiver and back, per message.
                char ok[2];
                if (!course::recv_exact(sock.get(), ok, sizeof ok, timeout)) {
                    std::cerr << "the receiver closed the connection after " << i << " of "
                              << messages.size() << " messages\n";
                    return 0;
                }
                if (std::string(ok, 2) != "ok")
                    throw course::ProtocolError("expected \"ok\" from the receiver, got \"" +
                                                std::string(ok, 2) + "\"");
                ++round_trips;

                // 3. The body. The receiver reads exactly body.size() bytes.
                course::send_all(sock.get(), body);
                // --8<-- [end:protocol]

                const std::chrono::duration<double, std::milli> waited = Clock::now() - started;
                std::cout << "message #" << i + 1 << " (" << body.size()
                          << " bytes): 1 round trip, " << std::fixed << std::setprecision(3)
                          << waited.count() << " ms waiting for ok\n";
            }
        } catch (const std::system_error& e) {
            if (!receiver_went_away(e)) throw;
            std::cerr << "the receiver closed the connection after " << i << " of "
                      << messages.size() << " messages\n";
            return 0;
        }
        std::cout << "sent " << messages.size() << " messages to "
                  << course::peer_address(sock.get()) << " with " << round_trips
                  << " extra round trips (one per message)\n";
        return 0;
    });
}
