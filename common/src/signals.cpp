#include "course/signals.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>

#include "course/error.hpp"

namespace course {

namespace {

std::atomic<bool> stop_flag{false};
std::atomic<int> pipe_read_end{-1};
std::atomic<int> pipe_write_end{-1};
std::once_flag pipe_once;

extern "C" void on_stop_signal(int) {
    const int saved_errno = errno;  // a handler must not disturb the interrupted code's errno
    request_stop();
    errno = saved_errno;
}

void make_stop_pipe() {
    int ends[2];
    check(::pipe2(ends, O_CLOEXEC | O_NONBLOCK), "pipe2 (stop pipe)");
    pipe_read_end = ends[0];
    pipe_write_end = ends[1];
}

}  // namespace

void ignore_sigpipe() {
    struct sigaction action {};
    action.sa_handler = SIG_IGN;
    sigemptyset(&action.sa_mask);
    check(::sigaction(SIGPIPE, &action, nullptr), "sigaction SIGPIPE");
}

void install_stop_handlers() {
    std::call_once(pipe_once, make_stop_pipe);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // waits notice the pipe; other calls should just go on
    check(::sigaction(SIGINT, &action, nullptr), "sigaction SIGINT");
    check(::sigaction(SIGTERM, &action, nullptr), "sigaction SIGTERM");
}

bool stop_requested() noexcept {
    return stop_flag.load();
}

int stop_fd() noexcept {
    return pipe_read_end.load();
}

void request_stop() noexcept {
    stop_flag.store(true);
    if (int fd = pipe_write_end.load(); fd >= 0) {
        const char byte = 1;
        [[maybe_unused]] auto ignored = ::write(fd, &byte, 1);  // full pipe: already readable
    }
}

void throw_if_stop_requested() {
    if (stop_requested()) throw StopRequested{};
}

}  // namespace course
