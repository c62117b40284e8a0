// bytes.cpp: std::string holds bytes; std::string_view looks at them.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror bytes.cpp -o bytes
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

// Python has bytes and str; in C++ a std::string is a sequence of bytes
// (char), with no encoding attached. This file is UTF-8, so "你好" is the
// 6 bytes that Python's "你好".encode("utf-8") gives.
void show(std::string_view bytes) {  // a view: no copy, a pointer and a size
    std::cout << bytes.size() << " bytes: b'";
    for (char c : bytes) {
        // char is signed here: go through unsigned char to get 0..255.
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
        std::cout << hex;
    }
    std::cout << "'\n";
}

int main() {
    std::string hello = "你好";
    show(hello);

    // send() and recv() take a pointer and a size: .data() and .size().
    // A receive buffer is a vector of bytes; recv() says how many it filled.
    std::vector<char> buffer(1024);
    std::size_t received = hello.copy(buffer.data(), 5);  // as if recv() returned 5

    // Keep exactly the bytes that arrived, not the whole buffer.
    std::string message(buffer.data(), received);
    show(message);  // the last character is cut in half: 5 of its 6 bytes

    // A string_view must not outlive the string it looks at. This one is
    // fine: `message` lives until the end of main().
    std::string_view first = std::string_view(message).substr(0, 3);
    std::cout << "first character: " << first << '\n';
    return 0;
}

// It prints:
// 6 bytes: b'\xe4\xbd\xa0\xe5\xa5\xbd'
// 5 bytes: b'\xe4\xbd\xa0\xe5\xa5'
// first character: 你
