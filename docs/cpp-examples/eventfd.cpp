// eventfd.cpp: a thread blocked in poll() on its socket can be woken by
// another thread through an eventfd: a counter in the kernel, readable (for
// poll) while it is not zero. Lesson 15's chat room tells a client's thread
// "you have mail" so.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror eventfd.cpp -o eventfd
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <thread>

int main() {
    int wake = ::eventfd(0, EFD_CLOEXEC);
    int pair[2];  // two connected sockets: pair[1] plays the client
    if (wake < 0 || ::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) return 1;

    std::jthread client_thread([&] {
        // Wait for whichever comes first: the client's bytes or the eventfd.
        pollfd fds[2] = {{pair[0], POLLIN, 0}, {wake, POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 2, -1) < 0) return;
            if (fds[0].revents & POLLIN) {
                char buffer[64];
                ssize_t n = ::recv(pair[0], buffer, sizeof buffer, 0);
                std::cout << "the client sent " << n << " bytes\n";
            }
            if (fds[1].revents & POLLIN) {
                std::uint64_t count;  // read() returns the counter and resets it
                if (::read(wake, &count, sizeof count) != sizeof count) return;
                std::cout << "woken by the eventfd (count " << count << ")\n";
                return;
            }
        }
    });

    ::send(pair[1], "hi", 2, 0);
    std::uint64_t one = 1;  // write() adds to the counter
    if (::write(wake, &one, sizeof one) != sizeof one) return 1;

    client_thread.join();  // (the jthread would join at the end of main anyway)
    ::close(pair[0]);
    ::close(pair[1]);
    ::close(wake);
    return 0;
}

// It prints:
// the client sent 2 bytes
// woken by the eventfd (count 1)
