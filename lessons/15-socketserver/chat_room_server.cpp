// chat_room_server: every line a client sends goes to every other client, one thread per client.
//
// Shows shared state under a lock (the room), and why each client needs a
// bounded outbox: a client that never reads must cost only its own
// connection, never stall the others. Built on course::socketserver's
// ThreadingTCPServer; compare with python/chat_room_server.py.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/socketserver.hpp"

namespace ss = course::socketserver;

namespace {

void log_line(const std::string& line) {
    std::cerr << (line + "\n");
}  // one write per line

// --8<-- [start:room]
// One connected client, as the room sees it.
struct Member {
    std::string name;      // "127.0.0.1:50312"
    course::Fd wake;       // eventfd: "you have mail" (or "you were dropped")
    std::string outbox;    // bytes waiting to be sent to this client
    bool dropped = false;  // its outbox overflowed: it must go
};

// The state every client thread shares. Every access holds `mutex_`.
class ChatRoom {
  public:
    explicit ChatRoom(std::size_t queue_limit) : queue_limit_(queue_limit) {}

    std::shared_ptr<Member> join(const std::string& name) {
        auto member = std::make_shared<Member>();
        member->name = name;
        member->wake =
            course::Fd(course::check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"));
        std::lock_guard lock(mutex_);
        broadcast_locked(nullptr, "* " + name + " joined\n");
        members_.push_back(member);
        return member;
    }

    void leave(const std::shared_ptr<Member>& member) {
        std::lock_guard lock(mutex_);
        std::erase(members_, member);
        broadcast_locked(nullptr, "* " + member->name + " left\n");
    }

    // A line from `from` to everyone else.
    void say(const Member& from, std::string_view line) {
        std::lock_guard lock(mutex_);
        broadcast_locked(&from, line);
    }

    // Once `out` (what the thread is still sending) is empty, moves what waits
    // for `member` into it; so at most twice the limit is ever held per client.
    // False once the member was dropped.
    bool take(Member& member, std::string& out) {
        std::lock_guard lock(mutex_);
        if (member.dropped) return false;
        if (out.empty()) out.swap(member.outbox);
        return true;
    }

  private:
    void broadcast_locked(const Member* from, std::string_view text) {
        for (const auto& to : members_) {
            if (to.get() == from || to->dropped) continue;
            if (to->outbox.size() + text.size() > queue_limit_) {
                // It is not reading. Waiting for it would stall the sender (and
                // so everyone); growing its queue forever would eat the memory.
                // So it goes.
                to->dropped = true;
                log_line("dropping " + to->name + ": " + std::to_string(to->outbox.size()) +
                         " bytes queued and it is not reading (limit " +
                         std::to_string(queue_limit_) + ")");
                to->outbox.clear();
                to->outbox.shrink_to_fit();
            } else {
                const bool was_empty = to->outbox.empty();
                to->outbox.append(text);
                if (!was_empty) continue;  // already woken
            }
            const std::uint64_t one = 1;
            [[maybe_unused]] auto ignored = ::write(to->wake.get(), &one, sizeof one);
        }
    }

    const std::size_t queue_limit_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<Member>> members_;
};
// --8<-- [end:room]

struct Settings {
    ChatRoom* room;
    std::size_t max_line;
};

// --8<-- [start:handler]
// One ChatHandler per client, in that client's own thread. It waits on four
// things at once: the client's socket (a line to read, room to write), its
// "you have mail" eventfd, Ctrl-C, and the server closing.
class ChatHandler : public ss::StreamRequestHandler {
  public:
    ChatHandler(ss::Request& request, ss::BaseServer& server, Settings settings)
        : StreamRequestHandler(request, server),
          room_(*settings.room),
          max_line_(settings.max_line) {}

    void setup() override {
        me_ = room_.join(client_address.to_string());
        log_line(me_->name + " joined");
    }

    void handle() override {
        std::string unsent;    // taken from the outbox, not yet accepted by send()
        std::string incoming;  // received bytes, not yet a whole line
        for (;;) {
            if (!room_.take(*me_, unsent)) {
                // Reset instead of FIN: nothing queued for it is worth delivering.
                linger zero{1, 0};
                ::setsockopt(socket(), SOL_SOCKET, SO_LINGER, &zero, sizeof zero);
                return;
            }
            pollfd fds[4] = {
                {socket(), static_cast<short>(POLLIN | (unsent.empty() ? 0 : POLLOUT)), 0},
                {me_->wake.get(), POLLIN, 0},
                {course::stop_fd(), POLLIN, 0},
                {server.cancel_fd(), POLLIN, 0}};
            if (::poll(fds, 4, -1) < 0) {
                if (errno == EINTR) continue;
                course::throw_errno("poll");
            }
            if (fds[2].revents != 0 || fds[3].revents != 0) throw course::StopRequested{};
            if (fds[1].revents != 0) {  // drain the eventfd; take() collects the mail
                std::uint64_t count = 0;
                [[maybe_unused]] auto ignored = ::read(me_->wake.get(), &count, sizeof count);
            }
            if (fds[0].revents & POLLOUT) send_some(unsent);
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (!receive_lines(incoming)) return;  // the client left
            }
        }
    }

    void finish() override {
        room_.leave(me_);
        log_line(me_->name + " left");
    }

  private:
    // Sends what the socket takes now, without waiting.
    void send_some(std::string& unsent) {
        ssize_t n = ::send(socket(), unsent.data(), unsent.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            unsent.erase(0, static_cast<std::size_t>(n));
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            course::throw_errno("send");
    }

    // One recv(); every complete line goes to the room. False at EOF.
    bool receive_lines(std::string& incoming) {
        char chunk[4096];
        ssize_t n = ::recv(socket(), chunk, sizeof chunk, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
            if (errno == ECONNRESET) return false;
            course::throw_errno("recv");
        }
        if (n == 0) return false;
        incoming.append(chunk, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t end; (end = incoming.find('\n', start)) != std::string::npos;
             start = end + 1)
            room_.say(*me_, std::string_view(incoming).substr(start, end + 1 - start));
        incoming.erase(0, start);
        if (incoming.size() > max_line_) {  // no newline in sight: do not buffer forever
            log_line("dropping " + me_->name + ": a line longer than " + std::to_string(max_line_) +
                     " bytes");
            return false;
        }
        return true;
    }

    ChatRoom& room_;
    std::size_t max_line_;
    std::shared_ptr<Member> me_;
};
// --8<-- [end:handler]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Relay every line to every other client, one thread per client (lesson 15)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8015;
    int backlog = SOMAXCONN;
    std::size_t queue_limit = 256 * 1024;
    std::size_t max_line = 64 * 1024;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--backlog", backlog, "listen() backlog (Python's socketserver uses 5)")
        ->check(course::cli::Range(1, 65535))
        ->capture_default_str();
    app.add_option("--queue-limit", queue_limit,
                   "Bytes that may wait for one client before it is dropped")
        ->check(course::cli::Range(1, 1 << 30))
        ->capture_default_str();
    app.add_option("--max-line", max_line, "Longest line accepted, in bytes")
        ->check(course::cli::Range(1, 1 << 24))
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();
        course::raise_fd_limit_and_say_so();

        ChatRoom room(queue_limit);
        ss::Options options;
        options.allow_reuse_address = true;
        options.request_queue_size = backlog;
        ss::ThreadingTCPServer server(host, port,
                                      ss::handler<ChatHandler>(Settings{&room, max_line}), options);
        course::announce_listening(server.socket());
        server.serve_forever();
        server.server_close();  // joins every client's thread before `room` goes away
        return 0;
    });
}
