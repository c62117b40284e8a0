// gbk_server: exercise 03.1 -- a TCP server that speaks GBK, the encoding of older Chinese Windows.
//
// Bytes on a socket have no encoding of their own: the two ends must agree.
// This server reads UTF-8 messages and answers each one with the same text encoded
// in GBK, as a Windows program from the 2000s would. Point
// `tcp_client --encoding gbk` at it and the Chinese comes out right; without
// --encoding you see what GBK bytes look like to a UTF-8 reader.
//
//   gbk_server --port 8003    then: echo 你好 | tcp_client --port 8003 --encoding gbk
#include <sys/socket.h>

#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

// The bytes to send back for one UTF-8 message, `text`.
std::string answer(const std::string& text) {
    // Exercise 03.1: answer with the same text encoded in GBK.
    // BEGIN SOLUTION 03.1
    // course::from_utf8 throws ProtocolError for text GBK cannot write (emoji,
    // invalid UTF-8): the client then gets a "?" instead.
    try {
        return course::from_utf8(text, "GBK");
    } catch (const course::ProtocolError&) {
        return "?";
    }
    // BEGIN STUB
    // return text;  // still UTF-8
    // END STUB
    // END SOLUTION
}

// Answers every message of one client until it hangs up. As in the seeds, one
// recv() is one message (fine for a person typing; lesson 11 shows the catch).
void serve(int client) {
    std::vector<char> buffer(4096);
    for (;;) {
        const std::size_t n = course::recv_some(client, buffer.data(), buffer.size());
        if (n == 0) return;  // the client closed its end
        course::send_all(client, answer(std::string(buffer.data(), n)));
    }
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Answer every UTF-8 message with the same text in GBK (lesson 03, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8003;
    course::add_host_option(app, host);
    course::add_port_option(app, port);

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        for (;;) {  // one client at a time, like lesson 04's echo server
            course::Fd client = course::accept_client(listener.get());
            try {
                serve(client.get());
            } catch (const std::system_error& e) {
                std::cerr << "client dropped: " << e.what() << '\n';
            } catch (const course::ProtocolError& e) {
                std::cerr << "client dropped: " << e.what() << '\n';
            }
        }
    });
}
