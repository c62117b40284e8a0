// sticky_sender: makes --count separate sends of --message on one TCP connection, in a tight loop.
//
// Run it against sticky_receiver to see that TCP is a byte stream: the
// receiver does not get "10 messages", it gets bytes, in however many recv()
// calls it takes to read them ("粘包", sticky packets).
//
//   sticky_sender --count 10 --message hello
//   sticky_sender --count 1 --message "$(head -c 5000 /dev/zero | tr '\0' x)"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <system_error>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
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
        "Send --message --count times, as separate sends, on one TCP connection (lesson 11)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8011;
    long count = 10;
    std::string message = "hello";
    bool nodelay = false;
    double timeout = 10;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--count", count, "How many sends")
        ->check(course::cli::Range(1, 1000000))
        ->capture_default_str();
    app.add_option("--message", message, "What each send carries")->capture_default_str();
    app.add_flag("--nodelay", nodelay,
                 "Set TCP_NODELAY (turn Nagle's algorithm off): segments leave at once, "
                 "but the receiver still sees one byte stream");
    course::add_seconds_option(app, "--timeout", timeout, "Give up connecting after this long");

    return course::run_main(app, argc, argv, [&] {
        course::Fd sock = course::connect_tcp(host, port, timeout);

        if (nodelay) {
            // Nagle's algorithm holds back a small segment while an earlier one
            // is unacknowledged, so that many small writes travel together.
            // TCP_NODELAY turns that off. It changes WHEN bytes leave, not what
            // the receiver sees: recv() still returns whatever bytes have arrived.
            int on = 1;
            course::check(::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on),
                          "setsockopt TCP_NODELAY");
        }

        // --8<-- [start:send-loop]
        // One send per message, as fast as we can. Each send_all() here is one
        // send() call: TCP copies the bytes into the socket's send buffer and
        // returns. Nothing marks where one message ends and the next begins.
        long sent = 0;
        try {
            for (; sent < count; ++sent)
                course::send_all(sock.get(), message);
        } catch (const std::system_error& e) {
            if (!receiver_went_away(e)) throw;
            std::cerr << "the receiver closed the connection after " << sent << " sends\n";
            return 0;
        }
        // --8<-- [end:send-loop]

        std::cout << "made " << count << " sends of " << message.size() << " bytes ("
                  << count * static_cast<long>(message.size()) << " bytes) to "
                  << course::peer_address(sock.get()) << '\n';
        return 0;  // closing the socket sends FIN: the receiver's recv() then returns 0
    });
}
