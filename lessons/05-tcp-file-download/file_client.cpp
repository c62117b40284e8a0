// file_client: asks a file_server for one file by name and saves what it sends.
//
// The seeds' download client: send the name, then recv() chunk after chunk
// and write each to disk until recv() returns 0 (the server closed: the file
// is complete). We write to NAME.part and rename it only at the end, so a
// download that fails half-way never leaves a file that looks complete.
//
//   file_client notes.txt                    saves download_notes.txt
//   file_client docs/a.txt --output a.txt
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
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

// --8<-- [start:part]
// A file being written under a temporary name. Unless commit() renames it to
// its final name, the destructor deletes it: on an error, a timeout or Ctrl-C
// (the exception unwinds through here) no half-written file stays behind.
class PartFile {
  public:
    explicit PartFile(std::string final_path)
        : final_path_(std::move(final_path)), part_path_(final_path_ + ".part") {
        if (final_path_ == "-") {  // "--output -": standard output, nothing to rename
            fd_.reset(course::check(::dup(STDOUT_FILENO), "dup stdout"));
            return;
        }
        fd_.reset(course::check(
            ::open(part_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
            "open " + part_path_));
    }
    ~PartFile() {
        if (fd_) {
            fd_.reset();
            if (final_path_ != "-") ::unlink(part_path_.c_str());
        }
    }
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;

    void write(const char* data, std::size_t length) {
        while (length > 0) {  // write() too may take only part of what we offer
            ssize_t n = ::write(fd_.get(), data, length);
            if (n < 0 && errno == EINTR) continue;
            course::check(n, "write " + part_path_);
            data += n;
            length -= static_cast<std::size_t>(n);
        }
    }

    void commit() {
        course::check(::close(fd_.release()), "close " + part_path_);  // reports a full disk
        if (final_path_ == "-") return;
        course::check(::rename(part_path_.c_str(), final_path_.c_str()),
                      "rename " + part_path_ + " to " + final_path_);
    }

  private:
    std::string final_path_;
    std::string part_path_;
    course::Fd fd_;
};
// --8<-- [end:part]

int main(int argc, char** argv) {
    course::cli::App app{"Download one file from a file_server (lesson 05)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8005;
    std::string name;
    std::string output;
    double timeout = 10.0;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("name", name, "The file to download, relative to the server's root")->required();
    app.add_option("--output", output,
                   "Where to save it (default: download_ + its base name; - for stdout)");
    course::add_seconds_option(app, "--timeout", timeout,
                               "Give up when connecting or the server is silent this long");

    return course::run_main(app, argc, argv, [&] {
        course::install_stop_handlers();  // Ctrl-C: unwind, so the .part file is removed
        if (name.empty()) throw course::UsageError("the file name is empty");
        if (output.empty()) output = "download_" + name.substr(name.find_last_of('/') + 1);

        // --8<-- [start:ask]
        course::Fd sock = course::connect_tcp(host, port, timeout);  // socket + connect (lesson 03)
        // The name goes as it is, in one send(), with no terminator: the server
        // takes whatever one recv() gives it as the name.
        course::send_all(sock.get(), name);
        // --8<-- [end:ask]

        // --8<-- [start:receive]
        PartFile file(output);
        std::vector<char> chunk(1024 *
                                1024);  // one fixed buffer: memory does not grow with the file
        // Wake us only once 256 KiB are waiting (or at the end): without this
        // the kernel wakes the client for every few dozen KiB that arrive, and
        // on loopback the sender pays for each wake-up (1.7x faster with it).
        const int low_water = 256 * 1024;
        course::check(
            ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVLOWAT, &low_water, sizeof low_water),
            "setsockopt SO_RCVLOWAT");
        std::uint64_t total = 0;
        for (;;) {
            // Take whatever has arrived (MSG_DONTWAIT: do not block); only
            // when nothing is there yet do we wait, at most --timeout seconds.
            ssize_t n = ::recv(sock.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                if (course::wait_readable(sock.get(), timeout)) continue;
                // poll() stays quiet below the low-water mark: a server that
                // trickles is silent only if not even one byte came meanwhile.
                char probe;
                if (::recv(sock.get(), &probe, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
                    (errno == EAGAIN || errno == EWOULDBLOCK))
                    throw std::system_error(ETIMEDOUT, std::generic_category(),
                                            "download " + name + ": the server went silent");
                continue;
            }
            course::check(n, "download " + name + ": recv");
            if (n == 0) break;  // the server closed: that is the end of the file
            file.write(chunk.data(), static_cast<std::size_t>(n));
            total += static_cast<std::uint64_t>(n);
        }
        // --8<-- [end:receive]

        // --8<-- [start:check]
        // Zero bytes: the file is missing, the name was refused, or the file is
        // empty. Without a header we cannot tell which (lesson 14 adds one), so
        // we call it an error and keep nothing.
        if (total == 0)
            throw std::runtime_error("download " + name +
                                     ": the server sent nothing (no such file, a refused name, "
                                     "or an empty file)");
        file.commit();
        // The report goes to stderr when the file itself went to stdout.
        (output == "-" ? std::cerr : std::cout)
            << "saved " << total << " bytes to " << output << '\n';
        // --8<-- [end:check]
        return 0;
    });
}
