// file_server: sends the file a client names, in chunks, then closes and serves the next client.
//
// The seeds' download server, made safe: the client sends a file name (one
// send, no terminator), we take one recv() of up to 4096 bytes as the name,
// check that it stays inside --root, and stream the file back in chunks, so a
// 10 GiB file needs no more memory than a 10 KiB one. Closing the connection
// is the "end of file" signal: there is no header (lesson 14 adds one).
//
//   file_server --root ~/shared          then: file_client notes.txt
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/files.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"

namespace {

using course::Refused;  // why a name gets nothing: logged, never sent (no error reply)

// Waits until the client can take more bytes, but not forever: a client that
// stops reading would otherwise hold this one-at-a-time server hostage.
void wait_for_room(int client, double timeout) {
    if (!course::wait_writable(client, timeout))
        throw std::system_error(ETIMEDOUT, std::generic_category(), "send");
}

// --8<-- [start:stream]
// The plain way: read a chunk from the file, send all of it, repeat until
// read() returns 0 (end of file). Memory use is one chunk, whatever the size.
std::uint64_t stream_chunks(int file, int client, std::size_t chunk_size, double timeout) {
    std::vector<char> chunk(chunk_size);
    std::uint64_t total = 0;
    for (;;) {
        ssize_t got = ::read(file, chunk.data(), chunk.size());
        if (got < 0 && errno == EINTR) continue;
        course::check(got, "read");
        if (got == 0) return total;  // end of file
        const char* data = chunk.data();
        auto left = static_cast<std::size_t>(got);
        while (left > 0) {  // send() may take only part of the chunk: loop
            ssize_t sent = ::send(client, data, left, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                wait_for_room(client, timeout);
                continue;
            }
            if (sent < 0 && errno == EINTR) continue;
            course::check(sent, "send");
            data += sent;
            left -= static_cast<std::size_t>(sent);
            total += static_cast<std::uint64_t>(sent);
        }
    }
}
// --8<-- [end:stream]

// --8<-- [start:sendfile]
// The fast way: sendfile() asks the kernel to copy from the file to the socket
// itself. The bytes never visit our buffer: one copy and one system call less
// per chunk. Same loop, same memory use (none of ours at all).
std::uint64_t stream_sendfile(int file, int client, double timeout) {
    // sendfile() has no MSG_DONTWAIT: make the socket itself non-blocking, so
    // that a full socket buffer means EAGAIN and a (stop-aware) wait, not a
    // sendfile() stuck in the kernel that Ctrl-C cannot interrupt.
    course::check(::fcntl(client, F_SETFL, ::fcntl(client, F_GETFL) | O_NONBLOCK), "fcntl");
    std::uint64_t total = 0;
    for (;;) {
        ssize_t sent = ::sendfile(client, file, nullptr, 1 << 30);
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait_for_room(client, timeout);
            continue;
        }
        if (sent < 0 && errno == EINTR) continue;
        course::check(sent, "sendfile");
        if (sent == 0) return total;  // end of file
        total += static_cast<std::uint64_t>(sent);
    }
}
// --8<-- [end:sendfile]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Send the file each client names, from --root (lesson 05)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8005;
    std::string root_arg;
    double timeout = 10.0;
    std::size_t chunk_size = 64 * 1024;
    bool plain = false;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--root", root_arg, "The folder whose files may be downloaded")->required();
    course::add_seconds_option(app, "--timeout", timeout,
                               "Drop a client that sends no name, or stops reading, this long");
    app.add_option("--chunk-size", chunk_size, "Bytes per read()/send() in the plain loop")
        ->check(course::cli::Range(1, 16 * 1024 * 1024))
        ->capture_default_str();
    app.add_flag("--plain", plain, "Use the plain read()/send() loop instead of sendfile()");

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0

        // --8<-- [start:root]
        // The root, as an absolute path without symlinks, and as an open
        // folder that every name is resolved from. Serving "/" would hand out
        // the whole machine: open_root refuses it (common/src/files.cpp).
        const course::Root root = course::open_root(root_arg, "root " + root_arg);
        // --8<-- [end:root]

        course::Fd listener = course::listen_tcp(host, port);  // lesson 04's steps, in common/
        course::announce_listening(listener.get());
        std::cerr << "serving files from " << root.path << '\n';

        std::vector<char> request(4096);
        for (;;) {
            course::Fd client = course::accept_client(listener.get());
            const std::string who = course::peer_address(client.get());
            try {
                // --8<-- [start:name]
                // The name: one recv() of up to 4096 bytes, as the seed's
                // client sends it in one send() with no terminator. (Over a
                // real network a name could arrive in pieces; lesson 13 fixes
                // that with a length prefix.)
                if (!course::wait_readable(client.get(), timeout))
                    throw Refused("sent no file name within the timeout");
                ssize_t n = ::recv(client.get(), request.data(), request.size(), 0);
                course::check(n, "recv");
                if (n == 0) throw Refused("closed without asking for a file");
                const std::string name(request.data(), static_cast<std::size_t>(n));
                // --8<-- [end:name]

                course::Fd file;
                try {
                    file = course::open_inside(root, name);  // common/src/files.cpp
                } catch (const Refused& e) {
                    throw Refused("asked for " + course::printable_name(name) + ": refused, " +
                                  e.what());
                } catch (const std::system_error& e) {
                    throw Refused("asked for " + course::printable_name(name) + ": " +
                                  e.code().message());
                }

                std::uint64_t sent =
                    plain ? stream_chunks(file.get(), client.get(), chunk_size, timeout)
                          : stream_sendfile(file.get(), client.get(), timeout);
                std::cerr << who << " asked for " << course::printable_name(name) << ": sent "
                          << sent << " bytes\n";
            } catch (const Refused& e) {
                std::cerr << who << " " << e.what()
                          << '\n';  // nothing sent: the client sees 0 bytes
            } catch (const std::system_error& e) {
                // A client that resets, vanishes or stops reading costs only its own connection.
                std::cerr << who << " dropped: " << e.what() << '\n';
            }

            // --8<-- [start:close]
            // Closing is how the client learns the file is complete. shutdown()
            // first sends our FIN; then we wait (briefly) for the client's own
            // close, so that the kernel never answers a stray unread byte with
            // a reset that could destroy the file's last bytes in flight.
            ::shutdown(client.get(), SHUT_WR);
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            while (std::chrono::steady_clock::now() < give_up &&
                   course::wait_readable(client.get(), 0.25) &&
                   ::recv(client.get(), request.data(), request.size(), 0) > 0) {
            }
            client.reset();
            // --8<-- [end:close]
        }
    });
}
