// Serving files by the name a peer sent: confined to a root folder, logged safely.
//
// Every name a peer sends is resolved by the kernel beneath the root (openat2
// with RESOLVE_BENEATH, see files.cpp), never by checking its text: to read a
// file (open_inside), to look into a folder (open_folder_inside), to write a
// new file (PartFileInside), or to open whatever is there (open_beneath). A
// name that would leave the root is Refused.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "course/error.hpp"
#include "course/fd.hpp"

namespace course {

// The folder a server's names are confined to: its real path (every symlink
// and ".." resolved) and an open descriptor that every name is resolved from.
struct Root {
    std::string path;
    Fd fd;
};

// Opens `folder` as a Root; `what` names it in errors ("root www: No such file
// or directory"). Refuses "/" (std::runtime_error): serving it would hand out
// the whole machine.
Root open_root(const std::string& folder, const std::string& what);

// Opens `name` with open(2)'s `flags` (O_CLOEXEC added) only if it lies inside
// the root, whatever it is (a file, a folder): the caller looks with fstat().
// Throws Refused for a name outside the root (absolute, "..", a symlink out),
// or empty or with a NUL; throws std::system_error ("open: No such file or
// directory") when it cannot be opened.
Fd open_beneath(const Root& root, const std::string& name, int flags);

// Opens `name` for reading only if it is a regular file inside the root.
// Throws like open_beneath, and Refused for a folder, a FIFO, a device.
Fd open_inside(const Root& root, const std::string& name);

// The same for a folder inside the root ("." is the root itself), opened as a
// handle to resolve names from (O_PATH), not to read. Refused for a name
// outside the root or one that is not a folder.
Fd open_folder_inside(const Root& root, const std::string& name);

// A new file for `name` inside the root, written under a temporary name beside
// its final one (".NAME.part") and renamed to NAME only by commit(). Until then
// NAME is untouched, and if anything fails first (an error, a vanished peer,
// Ctrl-C unwinding the stack) the destructor deletes the temporary file: NAME
// only ever holds a complete file.
class PartFileInside {
  public:
    // Refused for a name open_inside refuses, a name whose last part is "." or
    // "..", and a NAME that exists but is not a regular file inside the root (a
    // folder, a symlink pointing out); std::system_error when its folder is
    // missing or the temporary file cannot be created.
    PartFileInside(const Root& root, const std::string& name);
    ~PartFileInside();
    PartFileInside(const PartFileInside&) = delete;
    PartFileInside& operator=(const PartFileInside&) = delete;

    // Every byte, or std::system_error (a full disk: ENOSPC; too large: EFBIG).
    void write(const void* data, std::size_t size);

    // Closes (a late write error shows up here) and renames the file to NAME,
    // replacing an older file of that name in one step. Returns what NAME now
    // holds (its inode, size and times).
    struct stat commit();

  private:
    Fd folder_;  // where NAME goes, resolved beneath the root once
    std::string name_;
    std::string temp_;
    Fd file_;
    bool committed_ = false;
};

// Writes every byte to a file (write() may take less than asked). Throws
// std::system_error "write <what>: <reason>".
void write_all(int fd, const void* data, std::size_t size, const std::string& what);

// A peer-chosen name as it may be printed in a log line, in double quotes:
// invalid UTF-8 and control characters (a newline!) become \xNN, so one name
// is always one line.
std::string printable_name(std::string_view bytes);

}  // namespace course
