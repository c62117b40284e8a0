// sticky_receiver: prints every recv() of one TCP client, showing sends merged and split.
//
//   sticky_receiver --delay 0.5               ten small sends arrive in one recv()
//   sticky_receiver --bufsize 1024 --delay 0.5  one 5000-byte send takes five recv()s
//
// --delay waits before the first recv(), so everything the sender sent has
// already arrived: the output is then the same on every run.
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

namespace {

// Sleeps, but wakes up for Ctrl-C/SIGTERM: waiting for the stop pipe to become
// readable throws course::StopRequested if a signal arrives, and times out otherwise.
void pause_for(double seconds) {
    course::wait_readable(course::stop_fd(), seconds);
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Accept one TCP client and print every recv() (lesson 11)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8011;
    std::size_t bufsize = 1024;
    double delay = 0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--bufsize", bufsize, "Bytes offered to each recv()")
        ->check(course::cli::Range(1, 1 << 20))
        ->capture_default_str();
    course::add_seconds_option(app, "--delay", delay, "Wait this long before the first recv()");

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());

        course::Fd client = course::accept_client(listener.get());
        std::cerr << "client " << course::peer_address(client.get()) << " connected\n";
        if (delay > 0) {
            std::cerr << "waiting " << delay << " s before the first recv()\n";
            pause_for(delay);  // meanwhile the sender's bytes pile up in our receive buffer
        }

        // --8<-- [start:recv-loop]
        // Each recv() returns whatever bytes are waiting, up to bufsize: the end
        // of one send and the start of the next, or part of one send. TCP kept
        // the bytes and their order, not the sender's boundaries.
        std::vector<char> buffer(bufsize);
        long calls = 0;
        std::size_t total = 0;
        try {
            for (;;) {
                const std::size_t n = course::recv_some(client.get(), buffer.data(), buffer.size());
                if (n == 0) break;  // the sender closed the connection
                ++calls;
                total += n;
                std::cout << "recv #" << calls << " (" << n
                          << " bytes): " << course::escape_invalid_utf8({buffer.data(), n}) << '\n';
            }
        } catch (const std::system_error& e) {
            std::cerr << "client connection lost: " << e.what() << '\n';  // e.g. a reset
        }
        // --8<-- [end:recv-loop]
        std::cerr << "client closed: " << total << " bytes in " << calls << " recv() calls\n";
        return 0;
    });
}
