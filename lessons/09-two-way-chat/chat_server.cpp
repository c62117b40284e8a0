// chat_server: turn-based chat, one client at a time; you answer each message from the keyboard.
//
//   client: hello          (the server prints it)
//   server: hi there       (you type it on the server's stdin)
//   ...                    a line "q" from either side ends the chat
//
// The server then waits for the next client. One recv() is one message here,
// which is fine while people type (lessons 11-13 show when it is not).
#include <unistd.h>

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
#include "keyboard.hpp"

namespace {

enum class Next { next_client, quit };

// --8<-- [start:chat]
// One conversation: receive, print, answer from the keyboard, and again.
Next chat(int client, const std::string& peer, Keyboard& keyboard) {
    std::vector<char> buffer(4096);
    const bool interactive = ::isatty(STDIN_FILENO) != 0;
    for (;;) {
        const std::size_t n = course::recv_some(client, buffer.data(), buffer.size());
        if (n == 0) {
            std::cerr << peer << " left without saying q\n";
            return Next::next_client;
        }
        const std::string message(buffer.data(), n);
        std::cout << course::escape_invalid_utf8(message) << '\n';
        if (message == "q") {
            std::cerr << peer << " ended the chat\n";
            return Next::next_client;
        }

        if (interactive) std::cerr << "you> " << std::flush;  // the prompt is not output
        const std::optional<std::string> answer = keyboard.next_line();
        if (!answer) {
            std::cerr << "end of input: closing the chat with " << peer << " and exiting\n";
            return Next::quit;
        }
        course::send_all(client, *answer);  // the line without its newline, in one go
        if (*answer == "q") {
            std::cerr << "you ended the chat with " << peer << '\n';
            return Next::next_client;
        }
    }
}
// --8<-- [end:chat]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Turn-based chat server: you answer each message (lesson 09)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8009;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        Keyboard keyboard;

        for (;;) {
            course::Fd client = course::accept_client(listener.get());
            std::string peer = "the client";
            try {
                peer = course::peer_address(client.get());
                std::cerr << peer << " connected; waiting for its first message\n";
                if (chat(client.get(), peer, keyboard) == Next::quit) return 0;
            } catch (const std::system_error& e) {
                // Reset, vanished, ...: that client is gone, the server is not.
                std::cerr << peer << ": " << e.what() << "; waiting for the next client\n";
            }
        }
    });
}
