// udp_tally_receiver: exercise 01.2 -- a receiver that keeps count and prints a total at the end.
//
// Counting is how you notice that UDP loses and truncates: the sender knows how
// many datagrams and bytes it sent, the receiver counts what arrived.
//
//   udp_tally_receiver --count 2    ...after two datagrams: "total: 2 datagrams, 8 bytes, 0
//   truncated"
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

// What has arrived so far.
struct Tally {
    long datagrams = 0;
    std::size_t bytes = 0;  // the datagrams' real sizes, truncated ones in full
    long truncated = 0;     // datagrams that did not fit in the buffer

    // Called once per datagram: `length` is its real size, `kept` what fitted.
    void add(std::size_t length, std::size_t kept) {
        // Exercise 01.2: count the datagram, its bytes, and whether it was truncated.
        // BEGIN SOLUTION 01.2
        ++datagrams;
        bytes += length;
        if (kept < length) ++truncated;
        // BEGIN STUB
        // static_cast<void>(length);  // unused until you write the counting
        // static_cast<void>(kept);
        // END STUB
        // END SOLUTION
    }
};

int main(int argc, char** argv) {
    course::cli::App app{"Print every UDP datagram, then a total (lesson 01, exercise 2)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8001;
    std::size_t bufsize = 1024;
    long count = 0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--bufsize", bufsize, "Bytes offered to each recvfrom()")
        ->check(course::cli::Range(1, 65536))
        ->capture_default_str();
    app.add_option("--count", count, "Exit after this many datagrams (0: at Ctrl-C)")
        ->check(course::cli::NonNegativeNumber);

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();

        const course::Endpoint local = course::resolve(host, port, SOCK_DGRAM, true).front();
        course::Fd sock(course::check(::socket(local.family, SOCK_DGRAM, 0), "socket"));
        course::check(::bind(sock.get(), local.addr(), local.length), "bind " + local.to_string());
        course::announce_bound(sock.get());

        Tally tally;
        std::vector<char> buffer(bufsize);
        try {
            for (long received = 0; count == 0 || received < count; ++received) {
                course::wait_readable(sock.get());  // throws StopRequested on Ctrl-C

                sockaddr_storage sender{};
                socklen_t sender_length = sizeof sender;
                ssize_t length = ::recvfrom(sock.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                                            reinterpret_cast<sockaddr*>(&sender), &sender_length);
                course::check(length, "recvfrom");

                const auto kept = std::min(static_cast<std::size_t>(length), buffer.size());
                std::cout << "from "
                          << course::format_address(reinterpret_cast<sockaddr*>(&sender),
                                                    sender_length)
                          << ": " << course::escape_invalid_utf8({buffer.data(), kept})
                          << std::endl;
                tally.add(static_cast<std::size_t>(length), kept);
            }
        } catch (const course::StopRequested&) {
            // Ctrl-C or SIGTERM: not an error, just the end of the count.
        }
        std::cout << "total: " << tally.datagrams << " datagrams, " << tally.bytes << " bytes, "
                  << tally.truncated << " truncated" << std::endl;
        return 0;
    });
}
