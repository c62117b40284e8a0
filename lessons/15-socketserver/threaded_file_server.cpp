// threaded_file_server: exercise 15.1 -- lesson 05's file server on socketserver: a thread per
// download.
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
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
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
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/socketserver.hpp"
#include "course/text.hpp"

namespace ss = course::socketserver;

// The folder we serve: its real path (no symlinks) and an open descriptor
// that every name is resolved from. Made once in main(), shared read-only by
// every handler thread (nothing here changes, so no lock is needed).
struct Root {
    std::string path;
    course::Fd fd;
};

// Why a request gets nothing: logged, never sent (the protocol has no error reply).
struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A file name as it may be printed in a log line: invalid UTF-8 and control
// characters (a newline!) become \xNN, so one name is always one line.
std::string printable(std::string_view bytes) {
    std::string out;
    for (char c : course::escape_invalid_utf8(bytes)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            static constexpr char digits[] = "0123456789abcdef";
            out += {'\\', 'x', digits[byte >> 4], digits[byte & 0x0f]};
        } else {
            out += c;
        }
    }
    return "\"" + out + "\"";
}

// Lesson 05's root confinement: opens `name` for reading only if it lies
// inside the root. Absolute names, ".." climbing out and symlinks pointing out
// are all refused, because the kernel itself resolves the name under the
// root's descriptor (openat2 with RESOLVE_BENEATH fails with EXDEV when the
// path would leave it). Throws Refused, with the reason, for every name it
// will not serve: outside the root, missing, a folder, ...
course::Fd open_inside(const Root& root, const std::string& name) {
    if (name.empty() || name.find('\0') != std::string::npos) throw Refused("not a file name");
    if (name.front() == '/') throw Refused("absolute path, outside the root");

    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // NONBLOCK: a FIFO must not hang us
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, root.fd.get(), name.c_str(), &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) {
        // A kernel older than 5.6: resolve the name ourselves with realpath()
        // and check that the result still starts with the root's own path.
        char resolved[PATH_MAX];
        const std::string joined = root.path + "/" + name;
        if (::realpath(joined.c_str(), resolved) == nullptr) throw Refused(std::strerror(errno));
        if (std::string(resolved).compare(0, root.path.size() + 1, root.path + "/") != 0)
            errno = EXDEV;
        else
            fd = ::open(resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    }
    if (fd < 0 && errno == EXDEV) throw Refused("outside the root");
    if (fd < 0) throw Refused(std::strerror(errno));  // "No such file or directory", ...
    course::Fd file(static_cast<int>(fd));

    struct stat info {};
    if (::fstat(file.get(), &info) < 0 || !S_ISREG(info.st_mode))
        throw Refused("not a regular file");
    return file;
}

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
    FileHandler(ss::Request& request, ss::BaseServer& server, const Root& root, double wait_limit,
                std::size_t chunk_size)
        : StreamRequestHandler(request, server), root_(root), chunk_size_(chunk_size) {
        timeout = wait_limit;  // every read_some()/write() gives up after this long
    }

    void handle() override {
        // Exercise 15.1: serve ONE client, lesson 05's way. Read the name
        // (read_some, at most 4096 bytes, once); open it with open_inside
        // (a Refused means: log why and send nothing); send the file with
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
            file = open_inside(root_, name);
        } catch (const Refused& why) {
            log("asked for " + printable(name) + ": refused, " + why.what());
            return;  // nothing sent: the client sees 0 bytes and our close
        }

        // Chunk by chunk: memory stays at one chunk, however big the file is.
        std::vector<char> chunk(chunk_size_);
        std::uint64_t bytes_sent = 0;
        while (const std::size_t got = read_chunk(file.get(), chunk)) {
            write({chunk.data(), got});  // every byte, or an exception
            bytes_sent += got;
        }
        log("asked for " + printable(name) + ": sent " + std::to_string(bytes_sent) + " bytes");
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

    const Root& root_;
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

        // The root, as an absolute path without symlinks. Serving "/" would
        // hand out the whole machine: refuse.
        char resolved[PATH_MAX];
        if (::realpath(root_arg.c_str(), resolved) == nullptr)
            course::throw_errno("root " + root_arg);
        Root root{resolved, {}};
        if (root.path == "/")
            throw std::runtime_error("root " + root_arg +
                                     ": refusing to serve the whole file system; pick a folder");
        root.fd = course::Fd(course::check(
            ::open(root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "root " + root_arg));

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
