// history_bot: exercise 08.2 -- the seeds' second bot: it answers with something you said before.
//
// A bot does not need to understand anything to seem chatty: this one keeps
// what each client has said and answers every message with one of that
// client's EARLIER messages, picked at random. Its memory is bounded
// (--history lines, the oldest forgotten first): a server must never let a
// client make it grow without limit. --seed makes the randomness repeatable,
// which is what tests (and debugging) need.
//
//   history_bot --port 8008 --seed 1
#include <sys/socket.h>

#include <cstddef>
#include <deque>
#include <iostream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

// The answer when there is nothing to repeat yet.
const std::string first_answer = "Tell me more. 请多说一些.";

// What one client has said, and the bot's way of answering from it.
class History {
  public:
    History(std::size_t capacity, std::mt19937& random) : capacity_(capacity), random_(random) {}

    // The answer to `message`: one of the earlier messages, at random (or
    // first_answer when there is none), then `message` is remembered too.
    std::string answer(const std::string& message) {
        // Exercise 08.2: pick the answer from said_ (std::uniform_int_distribution
        // with random_), then remember `message`, keeping at most capacity_ lines.
        // BEGIN SOLUTION 08.2
        std::string reply = first_answer;
        if (!said_.empty()) {
            std::uniform_int_distribution<std::size_t> pick(0, said_.size() - 1);
            reply = said_[pick(random_)];
        }
        said_.push_back(message);
        if (said_.size() > capacity_) said_.pop_front();  // forget the oldest
        return reply;
        // BEGIN STUB
        // static_cast<void>(message);  // unused until you write it
        // static_cast<void>(capacity_);
        // static_cast<void>(random_);
        // return first_answer;
        // END STUB
        // END SOLUTION
    }

  private:
    std::size_t capacity_;
    std::mt19937& random_;
    std::deque<std::string> said_;
};

// Talks to one client until it leaves; one recv() is one message.
void chat(int client, std::size_t capacity, std::mt19937& random) {
    History history(capacity, random);  // a new client starts with an empty history
    std::vector<char> buffer(4096);
    for (;;) {
        const std::size_t length = course::recv_some(client, buffer.data(), buffer.size());
        if (length == 0) return;
        course::send_all(client, history.answer(std::string(buffer.data(), length)));
    }
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Answer every message with an earlier one, at random (lesson 08, exercise 2)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8008;
    std::size_t capacity = 100;
    long seed = -1;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--history", capacity, "Messages remembered per client (the oldest go first)")
        ->check(course::cli::Range(1, 10000))
        ->capture_default_str();
    app.add_option("--seed", seed, "Seed for the random picks (default: a random seed)")
        ->check(course::cli::NonNegativeNumber);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        std::mt19937 random(seed >= 0 ? static_cast<std::mt19937::result_type>(seed)
                                      : std::random_device{}());
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        for (;;) {  // one client after another
            course::Fd client = course::accept_client(listener.get());
            try {
                chat(client.get(), capacity, random);
            } catch (const std::system_error& e) {
                std::cerr << "client dropped: " << e.what() << '\n';
            }
        }
    });
}
