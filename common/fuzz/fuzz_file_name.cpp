// fuzz_file_name: libFuzzer target for course::open_inside and PartFileInside, the
// root confinement of the file servers (lessons 05, 14, 15 and 19).
//
// A scratch root holds a file, a folder and a symlink pointing out; a secret file
// sits beside the root. Whatever name a client sends, open_inside either refuses
// it or opens a regular file inside the root: never the secret, never a folder.
// And PartFileInside either refuses it or creates its temporary file inside the
// root: nothing ever appears beside the root.
#include <dirent.h>
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
    std::string dir;  // holds the root and the secret
    course::Root root;
    ino_t secret_inode = 0;
};

int count_entries(const std::string& dir) {
    DIR* listing = ::opendir(dir.c_str());
    if (listing == nullptr) std::abort();
    int count = 0;
    while (::readdir(listing) != nullptr)
        ++count;
    ::closedir(listing);
    return count;  // "." and ".." included
}

Scratch make_scratch() {
    char base[] = "/tmp/fuzz_file_name.XXXXXX";
    if (::mkdtemp(base) == nullptr) std::abort();
    Scratch scratch;
    const std::string dir = base;
    scratch.dir = dir;
    const std::string root = dir + "/root";
    const std::string secret = dir + "/secret.txt";
    if (::mkdir(root.c_str(), 0700) != 0 || ::mkdir((root + "/sub").c_str(), 0700)) std::abort();
    for (const std::string& file : {secret, root + "/a.txt", root + "/sub/b.txt"}) {
        const course::Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        if (!fd) std::abort();
    }
    if (::symlink(secret.c_str(), (root + "/out").c_str()) != 0 ||
        ::symlink("../secret.txt", (root + "/sub/up").c_str()) != 0)
        std::abort();
    struct stat info {};
    if (::stat(secret.c_str(), &info) != 0) std::abort();
    scratch.secret_inode = info.st_ino;
    scratch.root = course::open_root(root, "root");
    return scratch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Scratch scratch = make_scratch();
    const std::string name(reinterpret_cast<const char*>(data), size);
    try {
        const course::Fd file = course::open_inside(scratch.root, name);
        struct stat info {};
        if (::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode)) __builtin_trap();
        if (info.st_ino == scratch.secret_inode) __builtin_trap();  // escaped the root
    } catch (const course::Refused&) {
    } catch (const std::system_error&) {  // missing, too long, ...
    }
    try {
        const course::PartFileInside part(scratch.root, name);  // deleted again, uncommitted
        if (count_entries(scratch.dir) != 4) __builtin_trap();  // ".", "..", root, secret.txt
    } catch (const course::Refused&) {
    } catch (const std::system_error&) {
    }
    return 0;
}
