#include "course/files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "course/error.hpp"
#include "course/text.hpp"

namespace course {

// --8<-- [start:confine]
// A client must not read /etc/passwd by asking for "/etc/passwd" (an absolute
// path), "../../etc/passwd" (climbing out) or "link" where link -> /etc (a
// symbolic link pointing out). Checking the text of the name is not enough
// (symlinks!), so we let the kernel resolve it: openat2() with
// RESOLVE_BENEATH fails with EXDEV whenever resolving would leave root_fd.
// Subfolders ("docs/a.txt") and symlinks that stay inside are fine.
Fd open_inside(int root_fd, const std::string& root_path, const std::string& name) {
    if (name.empty() || name.find('\0') != std::string::npos) throw Refused("not a file name");
    if (name.front() == '/') throw Refused("absolute path, outside the root");

    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // NONBLOCK: a FIFO must not hang us
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, root_fd, name.c_str(), &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) {
        // A kernel older than 5.6: resolve the name ourselves with realpath()
        // and check that the result still starts with the root's own path.
        char resolved[PATH_MAX];
        const std::string joined = root_path + "/" + name;
        if (::realpath(joined.c_str(), resolved) == nullptr) throw_errno("open");
        const std::string real(resolved);
        if (real.compare(0, root_path.size() + 1, root_path + "/") != 0)
            errno = EXDEV;
        else
            fd = ::open(resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    }
    if (fd < 0 && errno == EXDEV) throw Refused("outside the root");
    if (fd < 0) throw_errno("open");
    Fd file(static_cast<int>(fd));

    struct stat info {};
    check(::fstat(file.get(), &info), "fstat");
    if (!S_ISREG(info.st_mode)) throw Refused("not a regular file");
    return file;
}
// --8<-- [end:confine]

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
