// line_receiver: exercise 11.1 -- the delimiter fix for sticky packets: one message per line.
//
// TCP hands us bytes, not messages: one recv() may hold two messages and a
// half, or a third of one. If sender and receiver agree that every message
// ends with '\n', the receiver can put the messages back together itself: it
// keeps what recv() returned in a buffer, and every time a '\n' is in there,
// the bytes before it are one whole message. What is after the last '\n' is
// the start of the next message; it waits in the buffer for the rest.
//
// The buffer must stay bounded: a client that never sends '\n' would
// otherwise make us keep everything it sends. A line longer than --max-line
// costs that client its connection.
//
//   line_receiver --port 8011        then: printf 'one\ntwo\nthr' | nc 127.0.0.1 8011
//   line_receiver --bufsize 3        three bytes per recv(): the lines still come out whole
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

namespace {

// Adds the bytes that just `arrived` to `pending` (the unfinished line the
// earlier recv()s left) and takes every complete line out of it. Returns the
// complete lines, in order, each WITHOUT its '\n'; afterwards `pending` holds
// only what comes after the last '\n' (the start of the next line), or nothing.
//
//   pending "he", arrived "llo\nwor"  ->  returns {"hello"}, pending "wor"
//   pending "",   arrived "a\n\nb\n"  ->  returns {"a", "", "b"}, pending ""
std::vector<std::string> split_lines(std::string& pending, std::string_view arrived) {
    // Exercise 11.1: append `arrived` to `pending`, then cut `pending` at every '\n'.
    // BEGIN SOLUTION 11.1
    pending.append(arrived);
    std::vector<std::string> lines;
    std::size_t start = 0;  // where the line being looked at begins
    for (;;) {
        const std::size_t newline = pending.find('\n', start);
        if (newline == std::string::npos) break;  // the rest is not a whole line yet
        // The bytes from `start` up to the '\n' (the '\n' itself is not kept).
        lines.emplace_back(pending, start, newline - start);
        start = newline + 1;
    }
    pending.erase(0, start);  // keep only the unfinished line, for the next recv()
    return lines;
    // BEGIN STUB
    // static_cast<void>(pending);  // unused until you write it
    // static_cast<void>(arrived);
    // return {};
    // END STUB
    // END SOLUTION
}

// One client, until it closes. Throws on a protocol error or a lost connection.
void serve(int client, std::size_t max_line, std::size_t bufsize, double timeout) {
    std::string pending;  // bytes of a line whose '\n' has not arrived yet
    std::vector<char> buffer(bufsize);
    long count = 0;
    for (;;) {
        if (!course::wait_readable(client, timeout))
            throw course::ProtocolError("the client was silent longer than --timeout");
        const std::size_t n = course::recv_some(client, buffer.data(), buffer.size());
        if (n == 0) {  // the client closed: fine after a '\n', not in the middle of a line
            if (!pending.empty())
                throw course::ProtocolError(
                    "the client closed in the middle of a line (" + std::to_string(pending.size()) +
                    " bytes of it had arrived, without a newline: not a message)");
            return;
        }

        // Whatever arrived (half a line, three lines and a bit, ...) goes in;
        // every line now complete comes out.
        for (const std::string& line : split_lines(pending, {buffer.data(), n})) {
            if (line.size() > max_line)
                throw course::ProtocolError("a line of " + std::to_string(line.size()) +
                                            " bytes is over --max-line " +
                                            std::to_string(max_line));
            std::cout << "message #" << ++count << " (" << line.size()
                      << " bytes): " << course::escape_invalid_utf8(line) << '\n';
        }
        // The bound: without it, a client that never sends '\n' makes `pending` grow forever.
        if (pending.size() > max_line)
            throw course::ProtocolError("more than --max-line " + std::to_string(max_line) +
                                        " bytes without a newline");
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Receive newline-terminated messages and print each one (lesson 11, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8011;
    std::size_t max_line = 64 * 1024;
    std::size_t bufsize = 1024;
    double timeout = 30;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--max-line", max_line, "Longest line accepted, in bytes (without its newline)")
        ->check(course::cli::Range(std::size_t{1}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_option("--bufsize", bufsize, "Bytes offered to each recv() (try 1: it still works)")
        ->check(course::cli::Range(1, 1 << 20))
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
                serve(client.get(), max_line, bufsize, timeout);
                std::cerr << "client " << who << " closed the connection\n";
            } catch (const std::exception& e) {  // ProtocolError, or a reset (system_error)
                std::cerr << "error: client " << who << ": " << e.what()
                          << "; dropping the connection\n";
            }
        }
    });
}
