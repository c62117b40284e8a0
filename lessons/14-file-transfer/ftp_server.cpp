// ftp_server: serves --root with ls, get and put: JSON headers in frames, raw bodies, sha256.
//
//   ftp_server --root shared/
//
// One request per connection (ls, get or put), clients one after another.
// Every name is confined to the root. An upload is written as ".NAME.part" and
// renamed to NAME only once all its bytes are in and their sha256 matches the
// header's; anything else (a cut connection, a full disk, a wrong sha256,
// Ctrl-C) deletes it. The protocol is drawn in ftp_protocol.hpp.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/files.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/sha256.hpp"
#include "course/signals.hpp"
#include "ftp_protocol.hpp"

namespace fs = std::filesystem;
using ftp::Json;

namespace {

// A request we understood but refuse: the client gets {"status": "error"} with its message.
using course::Refused;

struct Settings {
    course::Root root;  // its real path, and the folder every name is resolved from
    double timeout;
};

// --8<-- [start:confine]
// Names are confined to the root as lesson 05 does it: the kernel resolves
// each one beneath the root (course::open_beneath, common/src/files.cpp), so
// "..", an absolute path or a symlink pointing out is refused, and subfolders
// and links that stay inside work. The client is told which name, and why.
Refused refused_name(const std::string& name, const Refused& why) {
    return Refused("refused name \"" + name + "\": " + why.what());
}
// --8<-- [end:confine]

// The sha256 of a big file costs a full read before the first byte can go
// (the header carries it). Remember each file's digest by (device, inode,
// size, modification and change time): any change to the file changes the key.
class DigestCache {
  public:
    std::string digest(int fd, const struct stat& info) {
        if (auto it = known_.find(key(info)); it != known_.end()) return it->second;
        course::Sha256 hash;
        std::vector<char> buffer(ftp::chunk_size);
        for (off_t at = 0;;) {
            course::throw_if_stop_requested();  // Ctrl-C while hashing a huge file
            const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), at);
            if (n < 0 && errno == EINTR) continue;
            course::check(n, "read");
            if (n == 0) break;
            hash.update(buffer.data(), static_cast<std::size_t>(n));
            at += n;
        }
        std::string hex = hash.hex_digest();
        remember(info, hex);
        return hex;
    }
    void remember(const struct stat& info, const std::string& hex) {
        if (known_.size() >= 1000) known_.clear();  // bounded memory
        known_[key(info)] = hex;
    }

  private:
    using Key = std::tuple<dev_t, ino_t, off_t, long, long, long, long>;
    static Key key(const struct stat& s) {
        return {s.st_dev,          s.st_ino,         s.st_size,        s.st_mtim.tv_sec,
                s.st_mtim.tv_nsec, s.st_ctim.tv_sec, s.st_ctim.tv_nsec};
    }
    std::map<Key, std::string> known_;
};

// `ls`: the root's regular files (not folders, not symlinks), sorted by name.
void serve_ls(int client, const Settings& settings, const std::string& who) {
    std::vector<std::pair<std::string, std::uintmax_t>> found;
    for (const fs::directory_entry& entry : fs::directory_iterator(settings.root.path))
        if (entry.symlink_status().type() == fs::file_type::regular)
            found.emplace_back(entry.path().filename().string(), entry.file_size());
    std::sort(found.begin(), found.end());
    Json files = Json::array();
    for (const auto& [name, size] : found)
        files.push_back({{"name", name}, {"size", size}});
    ftp::send_header(
        client,
        {{"status", "ok"}, {"message", std::to_string(found.size()) + " files"}, {"files", files}});
    std::cerr << "client " << who << ": ls: " << found.size() << " files\n";
}

// --8<-- [start:get]
// `get`: header with size and sha256, then the bytes straight from the file.
void serve_get(int client, const Json& request, const Settings& settings, DigestCache& digests,
               const std::string& who) {
    const std::string name = ftp::string_field(request, "name");
    course::Fd file;
    try {
        // O_NONBLOCK: a FIFO there must not hang the server (it is refused below).
        file = course::open_beneath(settings.root, name, O_RDONLY | O_NONBLOCK);
    } catch (const Refused& e) {
        throw refused_name(name, e);
    } catch (const std::system_error& e) {
        throw Refused("cannot read \"" + name + "\": " + e.code().message());
    }
    struct stat info {};
    course::check(::fstat(file.get(), &info), "fstat");
    if (!S_ISREG(info.st_mode)) throw Refused("\"" + name + "\" is not a regular file");
    const auto file_size = static_cast<std::uint64_t>(info.st_size);

    // get --resume: the client already has the first `offset` bytes.
    const std::uint64_t offset =
        request.contains("offset") ? ftp::size_field(request, "offset") : 0;
    if (offset > file_size) throw Refused("offset is past the end of \"" + name + "\"");

    const std::string sha256 = digests.digest(file.get(), info);  // of the whole file
    Json reply = {{"status", "ok"},
                  {"message", "sending " + name},
                  {"size", file_size - offset},  // exactly this many bytes follow
                  {"sha256", sha256}};
    if (offset > 0) reply.update({{"offset", offset}, {"file_size", file_size}});
    ftp::send_header(client, reply);

    // sendfile(): the kernel copies file -> socket itself; the bytes never pass
    // through this program's memory. The socket is non-blocking, so each call
    // sends what fits, and we wait (stop-aware, bounded) for room in between.
    auto position = static_cast<off_t>(offset);
    while (static_cast<std::uint64_t>(position) < file_size) {
        if (!course::wait_writable(client, settings.timeout))
            throw std::system_error(ETIMEDOUT, std::generic_category(),
                                    "the client stopped reading");
        const auto left = file_size - static_cast<std::uint64_t>(position);
        const ssize_t n = ::sendfile(client, file.get(), &position,
                                     std::min<std::uint64_t>(left, 4 * ftp::chunk_size));
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        course::check(n, "sendfile");
        if (n == 0) throw course::ProtocolError("\"" + name + "\" shrank while being sent");
    }
    std::cerr << "client " << who << ": get " << name << ": sent " << file_size - offset
              << " bytes\n";
}
// --8<-- [end:get]

// --8<-- [start:put]
// `put`: the body goes to ".NAME.part" (beside NAME, inside the root) while we
// hash it; only a complete body whose sha256 matches the header's is renamed
// to NAME. Anything else deletes it (course::PartFileInside, common/src/files.cpp).
void serve_put(int client, const Json& request, const Settings& settings, DigestCache& digests,
               const std::string& who) {
    const std::string name = ftp::string_field(request, "name");
    const std::uint64_t size = ftp::size_field(request, "size");
    const std::string expected = ftp::sha256_field(request, "sha256");

    auto refuse_storing = [&](const std::system_error& e) {
        return Refused("cannot store \"" + name + "\": " + e.code().message());
    };
    std::optional<course::PartFileInside> part;
    try {
        part.emplace(settings.root, name);
    } catch (const Refused& e) {
        throw refused_name(name, e);
    } catch (const std::system_error& e) {
        throw refuse_storing(e);
    }

    course::Sha256 hash;
    std::vector<char> buffer(ftp::chunk_size);  // memory: one chunk, whatever the file's size
    for (std::uint64_t received = 0; received < size;) {
        if (!course::wait_readable(client, settings.timeout))
            throw std::system_error(ETIMEDOUT, std::generic_category(), "the upload stalled");
        const std::size_t n = course::recv_some(
            client, buffer.data(), std::min<std::uint64_t>(buffer.size(), size - received));
        if (n == 0)
            throw course::ProtocolError("upload of \"" + name + "\" cut after " +
                                        std::to_string(received) + " of " + std::to_string(size) +
                                        " bytes");
        hash.update(buffer.data(), n);
        try {
            part->write(buffer.data(), n);  // a full disk fails here (ENOSPC, EFBIG)
        } catch (const std::system_error& e) {
            throw refuse_storing(e);
        }
        received += n;
    }
    const std::string actual = hash.hex_digest();
    if (actual != expected)
        throw Refused("sha256 mismatch for \"" + name + "\": the header said " + expected +
                      ", the body has " + actual);
    struct stat stored {};
    try {
        stored = part->commit();  // complete and verified: now, and only now, it gets its name
    } catch (const std::system_error& e) {
        throw refuse_storing(e);
    }
    // --8<-- [end:put]

    digests.remember(stored, actual);
    ftp::send_header(client,
                     {{"status", "ok"},
                      {"message", "stored " + name + " (" + std::to_string(size) + " bytes)"},
                      {"size", size},
                      {"sha256", actual}});
    std::cerr << "client " << who << ": put " << name << ": stored " << size << " bytes\n";
}

// The {"status": "error"} reply. Then shut our side, then read and throw away what the
// client may still be sending (the body of a refused upload) for a moment, so
// that closing does not reset the connection before the client read the reply.
void refuse(int client, const std::string& who, const std::string& message) {
    std::cerr << "client " << who << ": error: " << message << '\n';
    ftp::send_header(client, {{"status", "error"}, {"message", message}});
    ::shutdown(client, SHUT_WR);
    std::vector<char> sink(64 * 1024);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        const std::chrono::duration<double> left = deadline - std::chrono::steady_clock::now();
        if (left.count() <= 0 || !course::wait_readable(client, left.count())) return;
        const ssize_t n = ::recv(client, sink.data(), sink.size(), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
    }
}

// --8<-- [start:handle]
// One connection, one request.
void handle(int client, const Settings& settings, DigestCache& digests, const std::string& who) {
    try {
        const std::optional<Json> request =
            ftp::recv_header(client, ftp::max_request_header, settings.timeout);
        if (!request) {
            std::cerr << "client " << who << ": closed without a request\n";
            return;
        }
        const std::string op = ftp::string_field(*request, "op");
        if (op == "ls") {
            serve_ls(client, settings, who);
        } else if (op == "get") {
            serve_get(client, *request, settings, digests, who);
        } else if (op == "put") {
            serve_put(client, *request, settings, digests, who);
        } else {
            throw Refused("unknown op \"" + op + "\" (expected ls, get or put)");
        }
    } catch (const Refused& e) {
        refuse(client, who, e.what());
    } catch (const course::ProtocolError& e) {  // a bad header: the client gets told why
        refuse(client, who, e.what());
    } catch (const fs::filesystem_error& e) {  // e.g. the root folder vanished
        refuse(client, who, e.what());
    }
    // Anything else (a reset, a timeout) means the connection is broken: nobody
    // is left to tell, and the caller logs it.
}
// --8<-- [end:handle]

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"Serve the files of --root: ls, get and put (lesson 14)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = ftp::default_port;
    std::string root;
    double timeout = 30;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--root", root, "Folder whose files are served")
        ->required()
        ->check(course::cli::ExistingDirectory);
    course::add_seconds_option(app, "--timeout", timeout, "Drop a client that is silent this long");

    return course::run_main(app, argc, argv, [&]() -> int {
        // Past RLIMIT_FSIZE (a file size limit) the kernel sends SIGXFSZ, which
        // kills by default; ignored, write() fails with EFBIG and we report it.
        static_cast<void>(std::signal(SIGXFSZ, SIG_IGN));
        course::install_stop_handlers();
        const Settings settings{course::open_root(root, "--root " + root), timeout};
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());

        DigestCache digests;
        for (;;) {  // clients one after another, one request each
            course::Fd client = course::accept_client(listener.get());
            const std::string who = course::peer_address(client.get());
            // Non-blocking, for sendfile(); every wait goes through poll() anyway.
            course::check(::fcntl(client.get(), F_SETFL, O_NONBLOCK), "fcntl O_NONBLOCK");
            try {
                handle(client.get(), settings, digests, who);
            } catch (const std::exception& e) {
                std::cerr << "client " << who << ": error: " << e.what()
                          << "; dropping the connection\n";
            }
        }
    });
}
