// my_sendall: exercise 10.1 -- your own sendall(): call send() until every byte is gone.
//
// send() promises to take SOME bytes, not all of them: when the peer reads
// slowly the kernel's send buffer fills, and a non-blocking send() takes only
// what fits (or nothing: EAGAIN). This client sends --bytes N bytes through
// its own sendall loop and then says how many it handed over.
//
//   slow_reader --port 8010 --delay 1 &    my_sendall --bytes 16777216 --port 8010
#include <sys/socket.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

// Sends all `length` bytes of `data` on `fd`, or throws std::system_error.
void my_sendall(int fd, const char* data, std::size_t length) {
    // Exercise 10.1: loop over ::send(fd, ..., MSG_NOSIGNAL | MSG_DONTWAIT) until
    // all bytes are sent; on EAGAIN/EWOULDBLOCK wait with course::wait_writable(fd);
    // retry EINTR; throw any other error with course::throw_errno("send").
    // BEGIN SOLUTION 10.1
    std::size_t done = 0;  // bytes the kernel has taken so far
    while (done < length) {
        const ssize_t took = ::send(fd, data + done, length - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (took >= 0) {
            done += static_cast<std::size_t>(took);  // those are the kernel's now; go on after them
            continue;
        }
        switch (errno) {  // why did send() take nothing?
            case EINTR:   // a signal came first: nothing was sent, try again
                break;
            case EAGAIN:  // (EWOULDBLOCK is the same number on Linux) the buffer is full:
                course::wait_writable(fd);  // sleep until there is room (or Ctrl-C)
                break;
            default:                          // EPIPE, ECONNRESET: the peer is gone
                course::throw_errno("send");  // the message names the errno
        }
    }
    // BEGIN STUB
    // ::send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);  // one send(): is that all?
    // END STUB
    // END SOLUTION
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Send N bytes through a hand-written sendall loop (lesson 10, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8010;
    std::size_t bytes = 1 << 20;
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--bytes", bytes, "How many bytes to send")
        ->check(course::cli::Range(std::size_t{0}, std::size_t{1} << 30))
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C while waiting for room: stop cleanly
        course::Fd sock = course::connect_tcp(host, port, 5.0);
        // A pattern, not zeros, so the receiver can check every byte's place.
        std::vector<char> data(bytes);
        for (std::size_t i = 0; i < bytes; ++i)
            data[i] = static_cast<char>(i % 251);
        my_sendall(sock.get(), data.data(), data.size());
        std::cout << "sent " << bytes << " bytes" << std::endl;
        return 0;
    });
}
