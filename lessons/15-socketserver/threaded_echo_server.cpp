// threaded_echo_server: lesson 04's echo server, but every client gets its own thread.
//
// Built on course::socketserver, the C++ twin of Python's socketserver: we only
// write a request handler (what to do with ONE client); ThreadingTCPServer
// accepts, starts a thread per client, reaps finished threads, and stops on
// Ctrl-C/SIGTERM. Compare with python/threaded_echo_server.py.
#include <sys/socket.h>

#include <array>
#include <iostream>
#include <string>

#include "course/cli.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/socketserver.hpp"

namespace ss = course::socketserver;

// --8<-- [start:handler]
// One EchoHandler object per client, made by the server in that client's
// thread: setup(), then handle(), then finish() (even if handle() threw).
class EchoHandler : public ss::StreamRequestHandler {
  public:
    EchoHandler(ss::Request& request, ss::BaseServer& server, bool quiet)
        : StreamRequestHandler(request, server), quiet_(quiet) {}

    void setup() override { log("connected"); }

    void handle() override {
        // read_into() waits for bytes (or Ctrl-C) and returns 0 once the client
        // closed; write() sends every byte, like Python's sendall().
        std::array<char, 16 * 1024> buffer;  // per thread, on its stack
        while (std::size_t n = read_into(buffer))
            write({buffer.data(), n});
    }

    void finish() override { log("disconnected"); }

  private:
    void log(const char* what) const {
        // One string, one write: lines from many threads do not interleave.
        if (!quiet_) std::cerr << (client_address.to_string() + " " + what + "\n");
    }

    bool quiet_;
};
// --8<-- [end:handler]

int main(int argc, char** argv) {
    course::cli::App app{
        "Echo every byte back, many clients at once, one thread each (lesson 15)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8015;
    int backlog = SOMAXCONN;
    bool quiet = false;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--backlog", backlog, "listen() backlog (Python's socketserver uses 5)")
        ->check(course::cli::Range(1, 65535))
        ->capture_default_str();
    app.add_flag("--quiet", quiet, "Do not log every connect and disconnect");

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: serve_forever() returns
        // One descriptor per client: the default soft limit (often 1024) would
        // cap us at about a thousand clients, so take what the hard limit allows.
        course::raise_fd_limit_and_say_so();

        // --8<-- [start:server]
        ss::Options options;
        options.allow_reuse_address = true;    // restart at once (lesson 07)
        options.request_queue_size = backlog;  // SOMAXCONN, not Python's 5 (lesson 06)
        ss::ThreadingTCPServer server(host, port, ss::handler<EchoHandler>(quiet), options);
        course::announce_listening(server.socket());  // "listening on 127.0.0.1:8015"

        server.serve_forever();  // until Ctrl-C / SIGTERM
        server.server_close();   // closes the listener, joins every client's thread
        // --8<-- [end:server]
        return 0;
    });
}
