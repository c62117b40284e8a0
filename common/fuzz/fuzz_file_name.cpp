// fuzz_file_name: libFuzzer target for course::open_inside, the root confinement
// of the file servers (lessons 05 and 15).
//
// A scratch root holds a file, a folder and a symlink pointing out; a secret file
// sits beside the root. Whatever name a client sends, open_inside either refuses
// it or opens a regular file inside the root: never the secret, never a folder.
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <system_error>

#include "course/fd.hpp"
#include "course/files.hpp"

namespace {

struct Scratch {
    std::string root;
    course::Fd root_fd;
    ino_t secret_inode = 0;
};

Scratch make_scratch() {
    char base[] = "/tmp/fuzz_file_name.XXXXXX";
    if (::mkdtemp(base) == nullptr) std::abort();
    Scratch scratch;
    const std::string dir = base;
    scratch.root = dir + "/root";
    const std::string secret = dir + "/secret.txt";
    if (::mkdir(scratch.root.c_str(), 0700) != 0 || ::mkdir((scratch.root + "/sub").c_str(), 0700))
        std::abort();
    for (const std::string& file : {secret, scratch.root + "/a.txt", scratch.root + "/sub/b.txt"}) {
        const course::Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        if (!fd) std::abort();
    }
    if (::symlink(secret.c_str(), (scratch.root + "/out").c_str()) != 0 ||
        ::symlink("../secret.txt", (scratch.root + "/sub/up").c_str()) != 0)
        std::abort();
    struct stat info {};
    if (::stat(secret.c_str(), &info) != 0) std::abort();
    scratch.secret_inode = info.st_ino;
    scratch.root_fd = course::Fd(::open(scratch.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!scratch.root_fd) std::abort();
    return scratch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Scratch scratch = make_scratch();
    const std::string name(reinterpret_cast<const char*>(data), size);
    try {
        const course::Fd file = course::open_inside(scratch.root_fd.get(), scratch.root, name);
        struct stat info {};
        if (::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode)) __builtin_trap();
        if (info.st_ino == scratch.secret_inode) __builtin_trap();  // escaped the root
    } catch (const course::Refused&) {
    } catch (const std::system_error&) {  // missing, too long, ...
    }
    return 0;
}
