// connect_many: opens N TCP connections one after another and counts how many handshakes complete.
//
// connect() returns once the three-way handshake is done. Against a listener
// whose accept queue is full, Linux drops our SYN, our kernel retries it
// (once a second at first) and connect() waits, so --timeout decides when we give up.
//
//   connect_many --port 8006 --count 10 --timeout 1 --hold 30
#include <sys/socket.h>

#include <chrono>
#include <iostream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/fd.hpp"
#include "course/net.hpp"
#include "course/text.hpp"

int main(int argc, char** argv) {
    course::cli::App app{"Open N TCP connections and report how many completed (lesson 06)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8006;
    int count = 10;
    double timeout = 3;
    double hold = 0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--count", count, "How many connections to open")
        ->check(course::cli::Range(1, 10000))
        ->capture_default_str();
    course::add_seconds_option(app, "--timeout", timeout, "Give up on one connect() after");
    course::add_seconds_option(app, "--hold", hold,
                               "Keep the connections open this long before closing them");

    return course::run_main(app, argc, argv, [&] {
        std::vector<course::Fd> open;  // every connection stays open until the end
        for (int i = 1; i <= count; ++i) {
            try {
                // The handshake happens inside connect(): SYN out, SYN-ACK in, ACK out.
                open.push_back(course::connect_tcp(host, port, timeout));
                std::cerr << "connection " << i << "/" << count << ": connected from "
                          << course::local_address(open.back().get()) << '\n';
            } catch (const std::system_error& e) {
                // A timeout here usually means the server's accept queue is full
                // and it dropped our SYNs. We carry on with the next one.
                std::cerr << "connection " << i << "/" << count << ": " << e.what() << '\n';
            }
        }
        std::cout << "connected " << open.size() << "/" << count << '\n';

        if (hold > 0) {
            std::cerr << "holding " << open.size() << " connection(s) for " << hold << " s\n";
            std::this_thread::sleep_for(std::chrono::duration<double>(hold));
        }
        // Whatever the server sent meanwhile (welcome #I, then its FIN): read it
        // before closing. Closing a socket with unread data makes Linux send a
        // RST (an abort) instead of a polite FIN.
        for (std::size_t i = 0; i < open.size(); ++i) {
            std::string received;
            char buffer[256];
            ssize_t n;
            while ((n = ::recv(open[i].get(), buffer, sizeof buffer, MSG_DONTWAIT)) > 0)
                received.append(buffer, static_cast<std::size_t>(n));
            if (!received.empty() || n == 0)
                std::cerr << "connection " << i + 1
                          << " received: " << course::escape_invalid_utf8(received)
                          << (n == 0 ? " (then the server closed)" : "") << '\n';
        }
        return 0;  // the sockets close here, each with a FIN
    });
}
