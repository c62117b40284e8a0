// line_counter_server: exercise 17.1 -- one poll() thread, many clients, each with a partial line.
//
// Every newline-terminated line a client sends comes back as "N: LINE", where
// N counts that connection's lines from 1. TCP delivers a byte stream, not
// lines (lesson 11): one recv() may bring half a line, or three lines and a
// bit of a fourth. A thread-per-client server would simply read on until the
// '\n' comes; a poll() server must never wait for one client, so every
// connection keeps what it has received in its own input buffer, and a line is
// answered once its '\n' is there. That buffer is bounded (--max-line): a
// client that sends an endless line is dropped, not allowed to eat our memory.
//
//   line_counter_server --port 8017      then: socat - TCP:127.0.0.1:8017, and type lines
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "echo_connection.hpp"  // set_nonblocking, AcceptPause, accept_waiting

namespace {

struct Limits {
    std::size_t max_line = 64 * 1024;  // longest line accepted, '\n' not counted
    std::size_t max_buffer = 1 << 20;  // stop reading a client with this much unsent output
    bool quiet = false;                // no connect/disconnect lines
};

// --8<-- [start:connection]
// One non-blocking client: what it sent that is not answered yet (input_) and
// the answers it has not taken yet (output_). Like lesson17::Connection in
// echo_connection.hpp, but it answers lines instead of echoing bytes.
class LineConnection {
  public:
    LineConnection(course::Fd sock, std::string peer)
        : sock_(std::move(sock)), peer_(std::move(peer)) {}

    [[nodiscard]] int fd() const { return sock_.get(); }
    [[nodiscard]] const std::string& peer() const { return peer_; }
    [[nodiscard]] std::size_t unsent() const { return output_.size() - sent_; }

    // Backpressure as in the echo servers: a client that does not read its
    // answers is not read from either, so it cannot make output_ grow forever.
    [[nodiscard]] bool wants_read(const Limits& limits) const {
        return !eof_ && !broken_ && unsent() < limits.max_buffer;
    }
    [[nodiscard]] bool wants_write() const { return !broken_ && unsent() > 0; }
    // Finished: the client closed and has all its answers, or it was dropped.
    [[nodiscard]] bool done() const { return broken_ || (eof_ && unsent() == 0); }
    // Why it was dropped ("recv: Connection reset by peer"), for the log.
    [[nodiscard]] const std::string& error() const { return error_; }

    // The socket is readable: one recv() (it cannot block), whatever it brings
    // goes to the end of input_, then every complete line is answered.
    void on_readable(std::vector<char>& scratch, const Limits& limits) {
        const ssize_t n = ::recv(fd(), scratch.data(), scratch.size(), MSG_DONTWAIT);
        if (n > 0) {
            input_.append(scratch.data(), static_cast<std::size_t>(n));
            take_lines(limits.max_line);
            if (!broken_) on_writable();  // answers go out at once if the socket takes them
        } else if (n == 0) {
            eof_ = true;  // closed: a last piece without '\n' is not a line, and gets no answer
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail("recv");
        }
    }

    // The socket can take bytes again: send what is queued.
    void on_writable() {
        sent_ += send_some(output_.data() + sent_, unsent());
        if (sent_ == output_.size()) {
            output_.clear();
            sent_ = 0;
        }
    }

  private:
    // Answers every complete line at the front of input_ and keeps the rest.
    void take_lines(std::size_t max_line) {
        // Exercise 17.1: for every '\n' in input_, the bytes before it (after
        // the previous line) are one line: queue "N: LINE\n" for it with
        // reply(), counting this connection's lines in lines_. Remove what was
        // answered from input_ and keep a partial line for the next recv().
        // A line (complete, or still partial) longer than max_line bytes
        // means: drop("line longer than ... bytes").
        // BEGIN SOLUTION 17.1
        std::size_t start = 0;  // where the first unanswered line begins in input_
        for (;;) {
            const std::size_t newline = input_.find('\n', start);
            if (newline == std::string::npos) break;
            const std::string_view line(input_.data() + start, newline - start);
            if (line.size() > max_line) {
                drop("line longer than " + std::to_string(max_line) + " bytes");
                return;
            }
            reply(std::to_string(++lines_) + ": " + std::string(line) + "\n");
            start = newline + 1;
        }
        input_.erase(0, start);  // answered lines go; what is left has no '\n' yet
        // A partial line that is already too long can never become a line we accept.
        if (input_.size() > max_line)
            drop("line longer than " + std::to_string(max_line) + " bytes");
        // BEGIN STUB
        // static_cast<void>(max_line);  // unused until you write it
        // static_cast<void>(lines_);
        // END STUB
        // END SOLUTION
    }

    // Queues `text` to be sent back as soon as the socket takes it.
    void reply(std::string_view text) { output_.append(text); }

    // Ends this connection (the main loop logs `why` and closes it).
    void drop(const std::string& why) {
        broken_ = true;
        error_ = why;
    }

    void fail(const char* what) {
        drop(std::string(what) + ": " + std::system_category().message(errno));
    }

    // Sends as much of `data` as the socket takes right now; returns how much went.
    std::size_t send_some(const char* data, std::size_t length) {
        std::size_t sent = 0;
        while (sent < length) {
            const ssize_t n = ::send(fd(), data + sent, length - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;  // the socket buffer is full: POLLOUT will tell us when to go on
            } else if (errno != EINTR) {
                fail("send");
                break;
            }
        }
        return sent;
    }

    course::Fd sock_;
    std::string peer_;
    std::string input_;     // received, not answered yet: after take_lines(), one partial line
    long lines_ = 0;        // lines answered on this connection so far
    std::string output_;    // answers waiting to be sent
    std::size_t sent_ = 0;  // how much of output_ is already sent
    bool eof_ = false;
    bool broken_ = false;
    std::string error_;
};
// --8<-- [end:connection]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Answer every line with \"N: LINE\", many clients at once, with poll() (lesson 17, "
        "exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8017;
    int backlog = 4096;
    Limits limits;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--backlog", backlog, "listen() backlog")->capture_default_str();
    app.add_option("--max-line", limits.max_line, "Drop a client whose line is longer (bytes)")
        ->check(course::cli::Range(std::size_t{1}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_option("--max-buffer", limits.max_buffer,
                   "Stop reading a client with this many unsent bytes")
        ->check(course::cli::Range(std::size_t{1}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_flag("--quiet", limits.quiet, "Do not log every connect and disconnect");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        course::Fd listener = course::listen_tcp(host, port, {.backlog = backlog});
        lesson17::set_nonblocking(listener.get());
        course::announce_listening(listener.get());

        std::map<int, LineConnection> clients;
        lesson17::AcceptPause pause;
        std::vector<char> scratch(64 * 1024);  // every recv() lands here first
        std::vector<pollfd> fds;

        for (;;) {
            // The stop pipe, the listener (unless accepts are paused), and every
            // client with the events it wants right now: poll_echo_server's loop.
            fds.clear();
            fds.push_back({course::stop_fd(), POLLIN, 0});
            fds.push_back({pause.active() ? -1 : listener.get(), POLLIN, 0});
            for (const auto& [fd, client] : clients) {
                short events = 0;
                if (client.wants_read(limits)) events |= POLLIN;
                if (client.wants_write()) events |= POLLOUT;
                fds.push_back({fd, events, 0});
            }

            const int ready = ::poll(fds.data(), fds.size(), pause.wait_ms());
            if (ready < 0 && errno == EINTR) continue;
            course::check(ready, "poll");
            if (fds[0].revents != 0) return 0;  // Ctrl-C / SIGTERM

            for (std::size_t i = 2; i < fds.size(); ++i) {
                if (fds[i].revents == 0) continue;
                LineConnection& client = clients.at(fds[i].fd);
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                    client.on_readable(scratch, limits);
                if ((fds[i].revents & POLLOUT) && client.wants_write()) client.on_writable();
                if (client.done()) {
                    // A dropped client always gets its line, quiet or not: it is an error.
                    if (!limits.quiet || !client.error().empty())
                        std::cerr << "disconnected: " << client.peer()
                                  << (client.error().empty() ? "" : " (" + client.error() + ")")
                                  << '\n';
                    clients.erase(fds[i].fd);
                    pause.end();  // a descriptor is free again
                }
            }

            if (fds[1].revents & POLLIN) {
                lesson17::accept_waiting(listener.get(), pause,
                                         [&](course::Fd sock, const std::string& peer) {
                                             const int fd = sock.get();
                                             if (!limits.quiet)
                                                 std::cerr << "connected: " << peer << '\n';
                                             clients.try_emplace(fd, std::move(sock), peer);
                                         });
            }
        }
    });
}
