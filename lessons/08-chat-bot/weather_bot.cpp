// weather_bot: exercise 08.1 -- the chat bot with two more topics: the weather and thanks.
//
// The bot's knowledge is a table (keywords.hpp), so teaching it new words is
// adding rows, not writing more if-statements. Here the extra rows live in a
// second, small table of their own, asked only when the lesson's table finds
// nothing; the lesson's bot stays exactly as it is.
//
//   weather_bot --port 8008    then: echo 'nice weather?' | tcp_client --port 8008
#include <sys/socket.h>

#include <array>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "keywords.hpp"

// One extra row: a keyword (lower-case English, or Chinese) and its answer.
struct Topic {
    std::string_view word;
    std::string_view answer;
};

// The answer to `message` from the extra table, if one of its keywords occurs
// in it (English ones in any case: "WEATHER" counts), else nothing.
std::optional<std::string> extra_reply(std::string_view message) {
    // Exercise 08.1: a table with the rows weather / 天气 and thanks / 谢谢 (the
    // answers are in the exercise text), and a search for the first row whose
    // keyword occurs in the message.
    // BEGIN SOLUTION 08.1
    static constexpr std::array<Topic, 4> topics{{
        {"weather", "I can't see the sky from here, but I hope it's sunny! 希望是晴天!"},
        {"天气", "I can't see the sky from here, but I hope it's sunny! 希望是晴天!"},
        {"thanks", "You're welcome! 不客气!"},
        {"谢谢", "You're welcome! 不客气!"},
    }};
    // Lower-case the ASCII letters only: the bytes of Chinese characters are
    // >= 0x80 and must stay as they are for the search below.
    std::string text(message);
    for (char& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    for (const Topic& topic : topics)
        if (text.find(topic.word) != std::string::npos) return std::string(topic.answer);
    return std::nullopt;
    // BEGIN STUB
    // static_cast<void>(message);  // unused until you write the table
    // return std::nullopt;
    // END STUB
    // END SOLUTION
}

// Talks to one client until it says bye or leaves, one recv() per message.
void chat(int client) {
    std::vector<char> buffer(4096);
    for (;;) {
        const std::size_t length = course::recv_some(client, buffer.data(), buffer.size());
        if (length == 0) return;
        const std::string_view message(buffer.data(), length);
        const chatbot::Intent intent = chatbot::match(message);  // the lesson's table first
        std::string answer = chatbot::reply(intent, chatbot::local_time_now());
        if (intent == chatbot::Intent::unknown) answer = extra_reply(message).value_or(answer);
        course::send_all(client, answer);
        if (intent == chatbot::Intent::bye) return;
    }
}

int main(int argc, char** argv) {
    course::cli::App app{"The keyword chat bot, plus weather and thanks (lesson 08, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8008;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        for (;;) {  // one client after another
            course::Fd client = course::accept_client(listener.get());
            try {
                chat(client.get());
            } catch (const std::system_error& e) {
                std::cerr << "client dropped: " << e.what() << '\n';
            }
        }
    });
}
