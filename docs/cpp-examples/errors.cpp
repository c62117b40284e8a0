// errors.cpp: a system call returns -1 and sets errno; the course turns that
// into an exception that says what failed and why.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror errors.cpp -o errors
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>

// As in common/include/course/error.hpp. A template (see "Templates"), so
// that it works for int (socket, bind) and ssize_t (send, recv) alike.
template <typename T>
T check(T result, const std::string& what) {
    if (result < 0) throw std::system_error(errno, std::generic_category(), what);
    return result;
}

int main() {
    // ssize_t: a signed size. recv() returns the byte count, 0 at the end of
    // the stream, or -1 on error: here, fd 12345 is not an open descriptor.
    char buffer[16];
    ssize_t n = ::recv(12345, buffer, sizeof buffer, 0);
    int saved = errno;  // at once: the next library call may change errno
    std::cout << "recv returned " << n << ", errno " << saved << " ("
              << std::generic_category().message(saved) << ")\n";

    // The same failure as an exception. Catch by const reference.
    try {
        check(::recv(12345, buffer, sizeof buffer, 0), "recv");
    } catch (const std::system_error& error) {
        std::cout << "caught: " << error.what() << '\n';
    }

    // A TCP socket that is bound but not listening refuses connections.
    int quiet = check(::socket(AF_INET, SOCK_STREAM, 0), "socket");
    sockaddr_in address{};  // {}: every field zero
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // 127.0.0.1
    address.sin_port = 0;                              // any free port
    check(::bind(quiet, reinterpret_cast<sockaddr*>(&address), sizeof address), "bind");
    socklen_t length = sizeof address;
    check(::getsockname(quiet, reinterpret_cast<sockaddr*>(&address), &length), "getsockname");

    int client = check(::socket(AF_INET, SOCK_STREAM, 0), "socket");
    try {
        check(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address),
              "connect to 127.0.0.1");
    } catch (const std::system_error& error) {
        // error.code() keeps errno: compare it with a portable name.
        if (error.code() == std::errc::connection_refused)
            std::cout << "caught: " << error.what() << '\n';
    }
    ::close(client);  // errors.cpp closes by hand; see raii.cpp for the better way
    ::close(quiet);
    return 0;
}

// It prints:
// recv returned -1, errno 9 (Bad file descriptor)
// caught: recv: Bad file descriptor
// caught: connect to 127.0.0.1: Connection refused
