// chatbot_server: answers each message by looking up keywords in a table (English and Chinese).
//
// One recv() is one message here, as in the seed's bot: fine for a person
// typing into tcp_client, not for a program firing messages back to back
// (lessons 11-13 explain why and fix it). Clients are served one after another.
//
//   chatbot_server                      then, in another terminal:
//   tcp_client --port 8008              and type: hello / what time is it? / 名字 / bye
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"
#include "keywords.hpp"

namespace {

// What we log of a message: escaped, and cut short if it is long.
std::string preview(std::string_view message) {
    constexpr std::size_t limit = 80;
    std::string shown = course::escape_invalid_utf8(message.substr(0, limit));
    if (message.size() > limit) shown += "... (" + std::to_string(message.size()) + " bytes)";
    return shown;
}

// --8<-- [start:chat]
// Talks to one client until it says bye or leaves.
void chat(int client, const std::string& peer) {
    std::vector<char> buffer(4096);
    for (;;) {
        const std::size_t length = course::recv_some(client, buffer.data(), buffer.size());
        if (length == 0) {
            std::cerr << peer << " left\n";
            return;
        }
        const std::string_view message(buffer.data(), length);
        const chatbot::Intent intent = chatbot::match(message);
        const std::string answer = chatbot::reply(intent, chatbot::local_time_now());
        std::cerr << peer << " said: " << preview(message) << "\n  bot: " << answer << '\n';
        course::send_all(client, answer);
        if (intent == chatbot::Intent::bye) {
            std::cerr << "said goodbye to " << peer << ", closing\n";
            return;  // the caller's Fd closes the connection
        }
    }
}
// --8<-- [end:chat]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"A keyword chat bot, one client after another (lesson 08)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8008;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());

        for (;;) {
            course::Fd client = course::accept_client(listener.get());
            std::string peer = "a client";
            try {
                // getpeername() fails if the client already reset the connection.
                peer = course::peer_address(client.get());
                std::cerr << peer << " connected\n";
                chat(client.get(), peer);
            } catch (const std::system_error& e) {
                // A client that resets or vanishes costs only its own connection.
                std::cerr << peer << ": " << e.what() << '\n';
            }
        }
    });
}
