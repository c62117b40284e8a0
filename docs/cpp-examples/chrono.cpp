// chrono.cpp: std::chrono keeps the unit in the type, so 2 s and 2000 ms are
// the same duration and a bare "2" is not one (Python passes float seconds).
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror chrono.cpp -o chrono
#include <chrono>
#include <iostream>
#include <thread>

using namespace std::chrono_literals;  // 2s, 500ms, 20ms

int main() {
    std::chrono::milliseconds timeout = 2s;  // converted exactly: 2000 ms
    std::cout << "timeout: " << timeout.count() << " ms\n";

    // From seconds as a double (a --timeout option) to whole milliseconds.
    double seconds = 1.5;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(seconds));
    std::cout << "1.5 s = " << ms.count() << " ms\n";

    // steady_clock measures elapsed time; it never jumps when the wall clock
    // is set (system_clock may).
    auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(20ms);
    auto elapsed = std::chrono::steady_clock::now() - start;
    std::cout << "slept at least 20 ms: " << std::boolalpha << (elapsed >= 20ms) << '\n';

    // A deadline: how long is left of 2 s?
    auto deadline = start + 2s;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::cout << "less than 2 s left: " << (left < 2s) << '\n';
    return 0;
}

// It prints:
// timeout: 2000 ms
// 1.5 s = 1500 ms
// slept at least 20 ms: true
// less than 2 s left: true
