#include "course/files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "course/text.hpp"

namespace course {

namespace {

bool is_regular(int fd) {
    struct stat info {};
    check(::fstat(fd, &info), "fstat");
    return S_ISREG(info.st_mode);
}

// The real path of `name` under the root (every symlink and ".." resolved by
// realpath()) relative to the root: "." for the root itself, nothing when it
// lies outside (errno EXDEV) or cannot be resolved (errno from realpath).
std::optional<std::string> real_path_inside(const Root& root, const std::string& name) {
    char resolved[PATH_MAX];
    if (::realpath((root.path + "/" + name).c_str(), resolved) == nullptr) return std::nullopt;
    const std::string real(resolved);
    if (real == root.path) return ".";
    if (real.compare(0, root.path.size() + 1, root.path + "/") == 0)
        return real.substr(root.path.size() + 1);
    errno = EXDEV;
    return std::nullopt;
}

// Whether the name's ".." parts, read as text, climb above where it starts.
bool climbs_out(std::string_view name) {
    int depth = 0;
    while (!name.empty()) {
        const std::size_t slash = name.find('/');
        const std::string_view part = name.substr(0, slash);
        name.remove_prefix(slash == std::string_view::npos ? name.size() : slash + 1);
        if (part == "..") {
            if (--depth < 0) return true;
        } else if (!part.empty() && part != ".") {
            ++depth;
        }
    }
    return false;
}

long sys_openat2(int folder, const std::string& name, int flags, std::uint64_t resolve) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.resolve = resolve;
    return ::syscall(SYS_openat2, folder, name.c_str(), &how, sizeof how);
}

}  // namespace

// --8<-- [start:confine]
// A client must not read /etc/passwd by asking for "/etc/passwd" (an absolute
// path), "../../etc/passwd" (climbing out) or "link" where link -> /etc (a
// symbolic link pointing out). Checking the text of the name catches the
// first two, not the third (symlinks!), so we let the kernel resolve it:
// openat2() with RESOLVE_BENEATH fails with EXDEV whenever resolving would
// leave the root. Subfolders ("docs/a.txt") and links that stay inside are fine.
Fd open_beneath(const Root& root, const std::string& name, int flags) {
    if (name.empty() || name.find('\0') != std::string::npos) throw Refused("not a file name");
    if (name.front() == '/') throw Refused("absolute path, outside the root");
    if (climbs_out(name)) throw Refused("'..' climbs out of the root");

    long fd = sys_openat2(root.fd.get(), name, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd < 0 && (errno == EXDEV || errno == ENOSYS)) {
        // RESOLVE_BENEATH also refuses an absolute symlink that points back
        // inside (a.txt -> /srv/root/b.txt), and a kernel older than 5.6 has
        // no openat2() (ENOSYS). Then realpath() resolves the name, and only a
        // result inside the root is opened: beneath the root again, with no
        // symlinks allowed, so one swapped in meanwhile cannot lead out.
        const bool have_openat2 = errno == EXDEV;
        if (const auto real = real_path_inside(root, name))
            fd = have_openat2 ? sys_openat2(root.fd.get(), *real, flags,
                                            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
                              : ::open((root.path + "/" + *real).c_str(), flags | O_CLOEXEC);
        else if (have_openat2)
            errno = EXDEV;  // a link out that leads nowhere is still out
    }
    if (fd < 0 && errno == EXDEV) throw Refused("outside the root");
    if (fd < 0) throw_errno("open");
    return Fd(static_cast<int>(fd));
}

Fd open_inside(const Root& root, const std::string& name) {
    // O_NONBLOCK: a FIFO must not hang us (we refuse it just below).
    Fd file = open_beneath(root, name, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (!is_regular(file.get())) throw Refused("not a regular file");
    return file;
}
// --8<-- [end:confine]

Fd open_folder_inside(const Root& root, const std::string& name) {
    try {
        return open_beneath(root, name, O_PATH | O_DIRECTORY);
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::not_a_directory) throw Refused("not a folder");
        throw;
    }
}

Root open_root(const std::string& folder, const std::string& what) {
    char resolved[PATH_MAX];
    if (::realpath(folder.c_str(), resolved) == nullptr) throw_errno(what);
    Root root{resolved, {}};
    if (root.path == "/")
        throw std::runtime_error(what + ": refusing to serve the whole file system; pick a folder");
    root.fd = Fd(check(::open(resolved, O_PATH | O_DIRECTORY | O_CLOEXEC), what));
    return root;
}

PartFileInside::PartFileInside(const Root& root, const std::string& name) {
    const std::size_t slash = name.rfind('/');
    name_ = name.substr(slash + 1);  // npos + 1 == 0: the whole name
    if (name_.empty() || name_ == "." || name_ == "..") throw Refused("not a file name");
    // An existing NAME is replaced by commit(): only a regular file inside the
    // root may be (not a folder, not what a symlink pointing out leads to).
    try {
        if (!is_regular(open_beneath(root, name, O_PATH).get()))
            throw Refused("not a regular file");
    } catch (const std::system_error& e) {
        if (e.code() != std::errc::no_such_file_or_directory) throw;
    }
    folder_ = open_folder_inside(root, slash == std::string::npos ? "." : name.substr(0, slash));

    // The folder is resolved; the two names in it are single parts, so
    // nothing below can leave the root. O_EXCL creates the file and never
    // opens what is already there (a symlink planted under that name); a
    // leftover of an upload cut by a crash is removed first.
    temp_ = "." + name_ + ".part";
    ::unlinkat(folder_.get(), temp_.c_str(), 0);
    file_ = Fd(::openat(folder_.get(), temp_.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!file_) throw_errno("create " + temp_);
}

PartFileInside::~PartFileInside() {
    if (committed_) return;
    file_.reset();
    ::unlinkat(folder_.get(), temp_.c_str(), 0);
}

void PartFileInside::write(const void* data, std::size_t size) {
    write_all(file_.get(), data, size, temp_);
}

struct stat PartFileInside::commit() {
    if (::close(file_.release()) < 0) throw_errno("close " + temp_);
    check(::renameat(folder_.get(), temp_.c_str(), folder_.get(), name_.c_str()),
          "rename " + temp_ + " to " + name_);
    committed_ = true;
    struct stat info {};
    check(::fstatat(folder_.get(), name_.c_str(), &info, AT_SYMLINK_NOFOLLOW), "stat " + name_);
    return info;
}

void write_all(int fd, const void* data, std::size_t size, const std::string& what) {
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, bytes, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write " + what);
        }
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string printable_name(std::string_view bytes) {
    std::string out;
    for (char c : escape_invalid_utf8(bytes)) {
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

}  // namespace course
