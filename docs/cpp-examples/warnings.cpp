// warnings.cpp: the three -Werror habits of the course's code.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror warnings.cpp -o warnings
#include <sys/types.h>

#include <cstddef>
#include <iostream>
#include <vector>

// 1. An unused parameter is an error (-Wunused-parameter). A function whose
//    body you have not written yet keeps it with static_cast<void>, as the
//    exercises' starter code does.
void add(std::size_t length, std::size_t kept) {
    static_cast<void>(length);  // unused until you write the counting
    static_cast<void>(kept);
}

// 2. ssize_t (signed: -1 means error) and std::size_t (unsigned) do not mix
//    (-Wsign-compare). Rule out -1 first, then convert with static_cast.
bool fitted(ssize_t received, std::size_t buffer_size) {
    if (received < 0) return false;
    return static_cast<std::size_t>(received) <= buffer_size;
}

int main() {
    add(3000, 1024);
    std::cout << std::boolalpha;  // print bools as true/false, not 1/0
    std::cout << "1024 of 1024 fitted: " << fitted(1024, 1024) << '\n';
    std::cout << "3000 of 1024 fitted: " << fitted(3000, 1024) << '\n';

    // 3. The size of an array must be known when compiling: `char buffer[n];`
    //    is a compiler extension, an error under -Wpedantic. Use a vector.
    std::size_t n = 1024;
    std::vector<char> buffer(n);
    std::cout << "buffer of " << buffer.size() << " bytes\n";
    return 0;
}

// It prints:
// 1024 of 1024 fitted: true
// 3000 of 1024 fitted: false
// buffer of 1024 bytes
