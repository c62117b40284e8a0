// threaded_file_server: exercise 15.1 -- lesson 05's file server on socketserver: a thread each.
//
// Lesson 05's file_server serves one client after another: while one client
// takes its time (a slow network, or it simply never sends a name), everyone
// else waits in the accept queue. Here the same protocol (one recv of up to
// 4096 bytes is the name, the file comes back in chunks, the close says "that
// was all") runs on course::socketserver's ThreadingTCPServer. We only write
// what happens for ONE client, in a request handler; the server gives every
// client its own thread, so a silent client holds up nobody but itself.
//
//   threaded_file_server --root ~/shared      then: file_client --port 8015 notes.txt
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/files.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/socketserver.hpp"
#include "course/text.hpp"

namespace ss = course::socketserver;

using course::Refused;  // why a name gets nothing: logged, never sent (no error reply)

// One read() from the file into `chunk`: how many bytes it gave, 0 at the end of the file.
std::size_t read_chunk(int file, std::vector<char>& chunk) {
    for (;;) {
        const ssize_t got = ::read(file, chunk.data(), chunk.size());
        if (got >= 0) return static_cast<std::size_t>(got);
        if (errno != EINTR) course::throw_errno("read");
    }
}

// --8<-- [start:handler]
// One FileHandler per client, made by the server in that client's own thread:
// setup(), handle(), then finish() (even if handle() threw). An exception that
// leaves handle() (a reset, a timeout) is logged by the server as
// "error: handler for HOST:PORT: ..." and costs only this client.
class FileHandler : public ss::StreamRequestHandler {
  public:
    FileHandler(ss::Request& request, ss::BaseServer& server, const course::Root& root,
                double wait_limit, std::size_t chunk_size)
        : StreamRequestHandler(request, server), root_(root), chunk_size_(chunk_size) {
        timeout = wait_limit;  // every read_some()/write() gives up after this long
    }

    void handle() override {
        // Exercise 15.1: serve ONE client, lesson 05's way. Read the name
        // (read_some, at most 4096 bytes, once); open it with course::open_inside
        // (lesson 05's; it throws Refused, or std::system_error for a missing
        // file: log why and send nothing); send the file with
        // read_chunk + write, chunk after chunk; log one line saying what
        // happened, e.g. `asked for "a.txt": sent 1234 bytes`, or
        // `asked for "../x": refused, outside the root`.
        // BEGIN SOLUTION 15.1
        // The name: one read of up to 4096 bytes. It waits at most `timeout`
        // seconds, and only this client's thread waits: the others go on.
        const std::string name = read_some(4096);
        if (name.empty()) {
            log("closed the connection without naming a file");
            return;
        }

        course::Fd file;  // stays closed when the name is refused
        try {
            file = course::open_inside(root_, name);
        } catch (const Refused& why) {
            log("asked for " + course::printable_name(name) + ": refused, " + why.what());
            return;  // nothing sent: the client sees 0 bytes and our close
        } catch (const std::system_error& why) {  // missing, unreadable, ...
            log("asked for " + course::printable_name(name) + ": " + why.code().message());
            return;
        }

        // Chunk by chunk: memory stays at one chunk, however big the file is.
        std::vector<char> chunk(chunk_size_);
        std::uint64_t bytes_sent = 0;
        while (const std::size_t got = read_chunk(file.get(), chunk)) {
            write({chunk.data(), got});  // every byte, or an exception
            bytes_sent += got;
        }
        log("asked for " + course::printable_name(name) + ": sent " + std::to_string(bytes_sent) +
            " bytes");
        // BEGIN STUB
        // static_cast<void>(root_);  // unused until you write handle()
        // static_cast<void>(chunk_size_);
        // log("handle() is not written yet: nothing sent");
        // END STUB
        // END SOLUTION
    }

    // Lesson 05's careful close: our FIN first (shutdown), then wait briefly
    // for the client's own close, so that a stray unread byte never makes the
    // kernel answer with a reset that could destroy the file's last bytes.
    void finish() override {
        ::shutdown(socket(), SHUT_WR);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        timeout = 0.25;
        try {
            while (std::chrono::steady_clock::now() < give_up && !read_some().empty()) {
            }
        } catch (const std::system_error&) {
            // Timed out or reset: the connection is over either way.
        }
    }

  private:
    void log(const std::string& what) const {
        // One string, one write: lines from many threads do not interleave.
        std::cerr << (client_address.to_string() + " " + what + "\n");
    }

    // The folder we serve, made once in main() and shared read-only by every
    // handler thread (nothing in it changes, so no lock is needed).
    const course::Root& root_;
    std::size_t chunk_size_;
};
// --8<-- [end:handler]

int main(int argc, char** argv) {
    course::cli::App app{
        "Send the file each client names, from --root, one thread per client (lesson 15, "
        "exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8015;
    std::string root_arg;
    double timeout = 10.0;
    std::size_t chunk_size = 64 * 1024;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--root", root_arg, "The folder whose files may be downloaded")->required();
    course::add_seconds_option(app, "--timeout", timeout,
                               "Drop a client that sends no name, or stops reading, this long");
    app.add_option("--chunk-size", chunk_size, "Bytes per read()/send() of the file")
        ->check(course::cli::Range(1, 16 * 1024 * 1024))
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: serve_forever() returns

        // The root, as an absolute path without symlinks, and as an open folder
        // that every name is resolved from. Serving "/" would hand out the
        // whole machine: open_root refuses it.
        const course::Root root = course::open_root(root_arg, "root " + root_arg);

        ss::Options options;
        options.allow_reuse_address = true;      // restart at once (lesson 07)
        options.request_queue_size = SOMAXCONN;  // not Python's 5 (lesson 06)
        // std::ref: every handler shares the one Root (handler<> copies its extras).
        ss::ThreadingTCPServer server(
            host, port, ss::handler<FileHandler>(std::cref(root), timeout, chunk_size), options);
        course::announce_listening(server.socket());
        std::cerr << "serving files from " << root.path << '\n';

        server.serve_forever();  // until Ctrl-C / SIGTERM
        server.server_close();   // closes the listener, joins every client's thread
        return 0;
    });
}
