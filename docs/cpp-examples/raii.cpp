// raii.cpp: an object that owns a resource releases it in its destructor, at
// the end of its scope, however the scope ends. RAII is C++'s `with` block.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror raii.cpp -o raii
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <stdexcept>
#include <utility>

// course::Fd (common/include/course/fd.hpp), shortened.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {  // the destructor: runs when the object goes away
        if (fd_ >= 0) ::close(fd_);
    }

    // Two owners would close the descriptor twice, so copying is an error...
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    // ...but ownership can move: the old owner is left with -1.
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

    int get() const { return fd_; }

  private:
    int fd_;
};

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

int main() {
    std::cout << std::boolalpha;  // print bools as true/false
    int number;
    {
        Fd sock(::socket(AF_INET, SOCK_DGRAM, 0));
        number = sock.get();
        std::cout << "inside the block: open " << is_open(number) << '\n';
    }  // sock's destructor closes the socket here
    std::cout << "after the block: open " << is_open(number) << '\n';

    try {
        Fd sock(::socket(AF_INET, SOCK_DGRAM, 0));
        number = sock.get();
        throw std::runtime_error("something failed");  // no close() written...
    } catch (const std::exception& error) {
        std::cout << error.what() << ": open " << is_open(number) << '\n';  // ...closed
    }

    Fd first(::socket(AF_INET, SOCK_DGRAM, 0));
    // Fd copy = first;            // error: use of deleted function
    Fd second = std::move(first);  // `second` owns it now, `first` holds -1
    std::cout << "moved: first " << first.get() << ", second open " << is_open(second.get())
              << '\n';
    return 0;
}

// It prints:
// inside the block: open true
// after the block: open false
// something failed: open false
// moved: first -1, second open true
