// slow_reader: accepts one client, waits, then reads everything and prints its sha256.
//
// While we wait, nobody empties our receive buffer. It fills up, TCP tells
// the sender to stop (a zero window), the sender's own buffer fills up too,
// and from then on the sender's send() cannot hand over any more bytes.
//
//   slow_reader --delay 5 --rcvbuf 65536
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/sha256.hpp"
#include "course/signals.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Accept one client, wait, then read everything and hash it (lesson 10)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8010;
    double delay = 3;
    int rcvbuf = 0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--delay", delay, "Wait this long before the first recv()");
    app.add_option("--rcvbuf", rcvbuf, "SO_RCVBUF in bytes (0: the system's default)")
        ->check(course::cli::Range(0, 64 << 20))
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();

        // --8<-- [start:rcvbuf]
        const course::Endpoint local = course::resolve(host, port, SOCK_STREAM, true).front();
        course::Fd listener(course::check(::socket(local.family, SOCK_STREAM, 0), "socket"));
        int on = 1;
        course::check(::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on),
                      "setsockopt SO_REUSEADDR");
        if (rcvbuf > 0) {
            // Before listen(): the accepted socket inherits it, and TCP picks
            // its window (how much the sender may have in flight) from it.
            course::check(
                ::setsockopt(listener.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf),
                "setsockopt SO_RCVBUF");
        }
        course::check(::bind(listener.get(), local.addr(), local.length),
                      "bind " + local.to_string());
        course::check(::listen(listener.get(), 1), "listen");
        // --8<-- [end:rcvbuf]
        course::announce_listening(listener.get());

        course::Fd client = course::accept_client(listener.get());
        int actual = 0;
        socklen_t length = sizeof actual;
        course::check(::getsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &actual, &length),
                      "getsockopt SO_RCVBUF");
        std::cerr << "client connected; SO_RCVBUF is " << actual << " bytes; waiting " << delay
                  << " s before reading\n";
        course::wait_readable(course::stop_fd(), delay);  // a sleep that Ctrl-C can end

        // --8<-- [start:read]
        course::Sha256 hash;  // hashed as it arrives: memory does not grow with the data
        std::vector<char> buffer(64 * 1024);
        try {
            for (;;) {
                const std::size_t n = course::recv_some(client.get(), buffer.data(), buffer.size());
                if (n == 0) break;  // the sender closed: that was everything
                hash.update(buffer.data(), n);
            }
        } catch (const std::system_error& e) {
            if (e.code().value() != ECONNRESET) throw;
            std::cerr << "the sender reset the connection\n";
        }
        const unsigned long long received = hash.size();
        std::cout << "received " << received << " bytes, sha256 " << hash.hex_digest() << '\n';
        // --8<-- [end:read]
        return 0;
    });
}
