// Serving files by the name a peer sent: confined to a root folder, logged safely.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "course/fd.hpp"

namespace course {

// Why a name is not served (outside the root, not a regular file, ...). The
// file protocols of lessons 05 and 15 log it and send nothing.
struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Opens `name` for reading only if it lies inside the root folder, whose open
// descriptor is `root_fd` and whose real path (no symlinks) is `root_path`.
// Throws Refused for a name outside the root (absolute, "..", a symlink out),
// empty or with a NUL, or naming something that is not a regular file; throws
// std::system_error ("open: No such file or directory") when it cannot be opened.
Fd open_inside(int root_fd, const std::string& root_path, const std::string& name);

// A peer-chosen name as it may be printed in a log line, in double quotes:
// invalid UTF-8 and control characters (a newline!) become \xNN, so one name
// is always one line.
std::string printable_name(std::string_view bytes);

}  // namespace course
