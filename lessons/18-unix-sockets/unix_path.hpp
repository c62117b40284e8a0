// unix_path.hpp: a Unix socket's name is a file: make its address, clear a stale one safely, set
// its mode, remove it at exit.
//
// Shared by unix_echo_server and unix_dgram_server (and the datagram client,
// which needs a path of its own to get replies).
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "course/error.hpp"
#include "course/fd.hpp"

namespace lesson18 {

// --8<-- [start:address]
// A Unix socket address is a path in a fixed char array: sun_path holds 108
// bytes on Linux, the terminating '\0' included. A longer path does not fit.
struct UnixAddress {
    sockaddr_un addr{};
    socklen_t length = 0;
    [[nodiscard]] const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

inline UnixAddress unix_address(const std::string& path) {
    UnixAddress result;
    if (path.empty() || path.size() >= sizeof result.addr.sun_path)
        throw course::UsageError("--path must be 1 to " +
                                 std::to_string(sizeof result.addr.sun_path - 1) +
                                 " bytes long, got " + std::to_string(path.size()));
    result.addr.sun_family = AF_UNIX;
    std::memcpy(result.addr.sun_path, path.data(), path.size());
    result.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return result;
}
// --8<-- [end:address]

// "0600" / "600" / "0660" -> the permission bits; anything else is a usage error.
inline mode_t parse_mode(const std::string& text) {
    std::size_t used = 0;
    unsigned long bits = 0;
    try {
        bits = std::stoul(text, &used, 8);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || bits > 0777)
        throw course::UsageError("--mode must be octal permission bits like 0600, got '" + text +
                                 "'");
    return static_cast<mode_t>(bits);
}

// --8<-- [start:stale]
// A socket file outlives the server that made it if the server crashed (no
// clean exit, no unlink), and bind() then fails with "Address already in use".
// Deleting the file blindly would be worse: if a server is still running
// there, we would steal its name and it would silently stop getting clients.
// So we ask: connect to it. Refused means nobody is listening: stale, safe to
// remove. Accepted means a live server: refuse to start.
inline void clear_stale_socket(const std::string& path, int socktype) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) < 0) {
        if (errno == ENOENT) return;  // nothing there: the usual case
        course::throw_errno("stat " + path);
    }
    if (!S_ISSOCK(info.st_mode))
        throw std::runtime_error(path + ": exists and is not a socket; not removing it");

    const UnixAddress target = unix_address(path);
    course::Fd probe(course::check(::socket(AF_UNIX, socktype | SOCK_CLOEXEC, 0), "socket"));
    if (::connect(probe.get(), target.get(), target.length) == 0)
        throw std::runtime_error(path + ": another server is listening there; not starting");
    if (errno != ECONNREFUSED)  // EACCES, EPROTOTYPE (a socket of the other kind)...
        throw std::system_error(errno, std::generic_category(),
                                path + ": in use or not ours to check; not removing it");

    std::cerr << "removing stale socket file " << path << " (nobody listens there)\n";
    course::check(::unlink(path.c_str()), "unlink " + path);
}
// --8<-- [end:stale]

// --8<-- [start:bind]
// Binds `fd` to `path`, creating the socket file with exactly `mode`. The
// umask is set around bind() so the file never exists, even for an instant,
// with wider permissions than asked; chmod() then makes it exact (a umask can
// only take bits away). On Linux, connecting needs write permission on it.
inline void bind_path(int fd, const std::string& path, mode_t mode) {
    const UnixAddress address = unix_address(path);
    const mode_t old_mask = ::umask(static_cast<mode_t>(~mode & 0777));
    const int rc = ::bind(fd, address.get(), address.length);
    const int saved = errno;
    ::umask(old_mask);
    errno = saved;
    course::check(rc, "bind " + path);
    course::check(::chmod(path.c_str(), mode), "chmod " + path);
}

// Removes the socket file when the server exits, but only if it is still the
// one we created (same inode): a newer server may have taken the name since.
class SocketFile {
  public:
    explicit SocketFile(std::string path) : path_(std::move(path)) {
        struct stat info {};
        if (::lstat(path_.c_str(), &info) == 0) {
            device_ = info.st_dev;
            inode_ = info.st_ino;
        }
    }
    ~SocketFile() {
        struct stat info {};
        if (::lstat(path_.c_str(), &info) == 0 && info.st_dev == device_ && info.st_ino == inode_)
            ::unlink(path_.c_str());
    }
    SocketFile(const SocketFile&) = delete;
    SocketFile& operator=(const SocketFile&) = delete;

  private:
    std::string path_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
};
// --8<-- [end:bind]

}  // namespace lesson18
