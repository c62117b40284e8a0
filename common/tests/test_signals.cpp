#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "course/error.hpp"
#include "course/io.hpp"
#include "course/signals.hpp"

// Runs last in its own process (gtest_discover_tests runs each test alone),
// because a stop request is sticky for the rest of the process.
TEST(Signals, SigtermWakesABlockedWaitAtOnce) {
    course::install_stop_handlers();
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    std::thread killer([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::raise(SIGTERM);
    });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(course::wait_readable(fds[0]), course::StopRequested);
    killer.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
    EXPECT_TRUE(course::stop_requested());
    ::close(fds[0]);
    ::close(fds[1]);
}
