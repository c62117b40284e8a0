// Reading the keyboard (stdin) line by line WITHOUT blocking out Ctrl-C.
//
// std::getline() would sit inside read() where a SIGTERM cannot reach us, so
// the server would not stop within a second. Instead we wait with
// course::wait_readable() (which also watches the stop pipe), then read()
// what is there and cut it into lines ourselves.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <utility>

#include "course/error.hpp"
#include "course/io.hpp"

class Keyboard {
  public:
    explicit Keyboard(int fd = STDIN_FILENO) : fd_(fd) {}

    // The next line without its newline, or nothing at EOF or an empty line.
    std::optional<std::string> next_line() {
        for (;;) {
            if (const auto newline = pending_.find('\n'); newline != std::string::npos) {
                std::string line = pending_.substr(0, newline);
                pending_.erase(0, newline + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line.empty()) return std::nullopt;
                return line;
            }
            if (eof_) {
                if (pending_.empty()) return std::nullopt;
                return std::exchange(pending_, {});  // a last line without a newline
            }
            course::wait_readable(fd_);  // throws StopRequested on Ctrl-C / SIGTERM
            char chunk[4096];
            const ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                course::throw_errno("read stdin");
            }
            if (n == 0) eof_ = true;
            pending_.append(chunk, static_cast<std::size_t>(n));
        }
    }

  private:
    int fd_;
    std::string pending_;
    bool eof_ = false;
};
