// struct_upload: exercise 14.1 -- the seeds' struct-header upload: a binary header, then the file.
//
// Before JSON headers (ftp_client), the seeds upload a file with a header
// packed by Python's struct module: fixed-size binary numbers the receiver
// unpacks the same way. This client sends
//
//     struct.pack("!I", len(name)) + name + struct.pack("!Q", size) + the file's bytes
//
//     +----------------+------------------+----------------+-------------------+
//     | name length    | name (UTF-8)     | file size      | the file's bytes  |
//     | 4 bytes, !I    | name length bytes| 8 bytes, !Q    | file size bytes   |
//     +----------------+------------------+----------------+-------------------+
//
// then waits for the receiver's 2-byte reply "ok". The name is the file's last
// path part ("docs/report.pdf" -> "report.pdf"). The body goes out in chunks:
// memory stays one chunk, whatever the file's size.
//
//   python3 lessons/14-file-transfer/python/struct_receiver.py --dir /tmp &
//   struct_upload lessons/14-file-transfer/demo/hello.txt
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/framing.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/text.hpp"

namespace {

constexpr std::uint16_t default_port = 8014;
constexpr std::size_t chunk_size = 64 * 1024;  // bytes per read() and send

// The header in front of the file's bytes, exactly as Python would pack it:
//
//     struct.pack("!I", len(name)) + name + struct.pack("!Q", size)
//
// "!" is network byte order (big-endian: most significant byte first), "I" an
// unsigned 4-byte number, "Q" an unsigned 8-byte one. `name` is already UTF-8
// bytes, so len(name) is its size in BYTES ("报告.txt" is 10, not 6).
//
//   pack_header("a.txt", 300) -> 00 00 00 05  61 2e 74 78 74  00 00 00 00 00 00 01 2c
std::string pack_header(const std::string& name, std::uint64_t size) {
    // Exercise 14.1: the 4-byte name length, the name's bytes, the 8-byte size,
    // each number most significant byte first.
    // BEGIN SOLUTION 14.1
    std::string packed;
    // Appends the lowest `count` bytes of `value`, the most significant first:
    // shift each byte down to the bottom 8 bits; the cast to char keeps just those.
    const auto append_big_endian = [&packed](std::uint64_t value, int count) {
        for (int byte = count - 1; byte >= 0; --byte)
            packed += static_cast<char>(value >> (8 * byte));
    };
    append_big_endian(name.size(), 4);  // "!I": 4 bytes
    packed += name;
    append_big_endian(size, 8);  // "!Q": 8 bytes
    return packed;
    // BEGIN STUB
    // static_cast<void>(name);  // unused until you write it
    // static_cast<void>(size);
    // return "";  // no header yet: only the file's bytes go out
    // END STUB
    // END SOLUTION
}

// Sends every byte, but gives up when the receiver takes nothing for `timeout` seconds.
void send_within(int fd, std::string_view data, double timeout) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!course::wait_writable(fd, timeout))
                throw std::system_error(ETIMEDOUT, std::generic_category(),
                                        "the receiver stopped reading");
        } else if (errno != EINTR) {
            course::throw_errno("send");  // EPIPE / ECONNRESET: the receiver went away
        }
    }
}

// Sends the file's `size` bytes from `file`, one chunk at a time.
void send_body(int file, int sock, std::uint64_t size, double timeout) {
    std::vector<char> chunk(chunk_size);
    for (std::uint64_t sent = 0; sent < size;) {
        const ssize_t n = ::read(file, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        course::check(n, "read");
        if (n == 0) throw std::runtime_error("the file shrank while it was being sent");
        send_within(sock, {chunk.data(), static_cast<std::size_t>(n)}, timeout);
        sent += static_cast<std::uint64_t>(n);
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{
        "Upload FILE behind a struct-packed binary header (lesson 14, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = default_port;
    double timeout = 10;
    std::string path;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    course::add_seconds_option(app, "--timeout", timeout,
                               "Give up when the receiver is silent (or stops reading) this long");
    app.add_option("file", path, "The file to upload")->required();

    return course::run_main(app, argc, argv, [&]() -> int {
        course::Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!file) course::throw_errno("open " + path);
        struct stat info {};
        course::check(::fstat(file.get(), &info), "fstat " + path);
        if (!S_ISREG(info.st_mode)) throw std::runtime_error(path + " is not a regular file");
        const auto size = static_cast<std::uint64_t>(info.st_size);
        const std::string name = std::filesystem::path(path).filename().string();

        course::Fd sock = course::connect_tcp(host, port, timeout);
        const std::string who = course::peer_address(sock.get());

        // 1. The header, 2. the body: the receiver knows from the header how
        //    many bytes of name and of file follow, so nothing sticks together.
        // 3. The receiver's verdict: exactly 2 bytes, "ok". A receiver that
        //    refuses just hangs up, which we may notice while still sending
        //    (EPIPE, ECONNRESET) or while waiting for the reply.
        char reply[2];
        bool replied = false;
        std::string reason;
        try {
            send_within(sock.get(), pack_header(name, size), timeout);
            send_body(file.get(), sock.get(), size, timeout);
            replied = course::recv_exact(sock.get(), reply, sizeof reply, timeout);
        } catch (const std::system_error& e) {
            if (e.code() != std::errc::broken_pipe && e.code() != std::errc::connection_reset)
                throw;
            reason = std::string(" (") + e.what() + ")";
        }
        if (!replied)
            throw course::ProtocolError(who + " closed the connection without replying ok" +
                                        reason);
        if (std::string_view(reply, sizeof reply) != "ok")
            throw course::ProtocolError(
                who + " replied \"" +
                course::escape_invalid_utf8(std::string_view(reply, sizeof reply)) +
                "\" instead of ok");

        std::cout << "uploaded " << course::escape_invalid_utf8(name) << " (" << size
                  << " bytes) to " << who << '\n';
        return 0;
    });
}
