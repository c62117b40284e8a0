// optional.cpp: enum class, a constexpr table, std::optional, and the
// structured bindings that unpack a pair like Python's `a, b = pair`.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror optional.cpp -o optional
#include <array>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>

// enum class: a type with a few named values. Unlike a plain int, it never
// mixes with numbers or with another enum by accident.
enum class Intent { bye, hello };

struct Keyword {
    std::string_view word;
    Intent intent;
};

// constexpr: computed when compiling; std::array: a fixed-size array that
// knows its size. Data, not an if-chain (lesson 08's keywords.hpp).
constexpr std::array<Keyword, 3> keywords{{
    {"bye", Intent::bye},
    {"hello", Intent::hello},
    {"你好", Intent::hello},
}};

// std::optional: a value or nothing (Python's "return None").
std::optional<Intent> match(std::string_view message) {
    for (const Keyword& keyword : keywords)
        if (message.find(keyword.word) != std::string_view::npos) return keyword.intent;
    return std::nullopt;
}

std::string reply(Intent intent) {
    // A switch over an enum class: leave out a case and -Wall says so
    // (-Wswitch), which -Werror makes a build error.
    switch (intent) {
        case Intent::bye:
            return "Goodbye!";
        case Intent::hello:
            return "Hello!";
    }
    return "";  // not reached, but the compiler cannot know that
}

int main() {
    for (std::string_view message : {"hello bot", "你好", "what?", "bye"}) {
        std::optional<Intent> intent = match(message);
        if (intent)  // has a value? *intent is the value
            std::cout << message << " -> " << reply(*intent) << '\n';
        else
            std::cout << message << " -> Sorry, I don't understand.\n";
    }

    // Structured bindings: name the parts of a pair (or struct) at once.
    std::map<std::string, int> sizes{{"a.txt", 6}, {"b.bin", 1024}};
    for (const auto& [name, size] : sizes)
        std::cout << name << ": " << size << " bytes\n";
    return 0;
}

// It prints:
// hello bot -> Hello!
// 你好 -> Hello!
// what? -> Sorry, I don't understand.
// bye -> Goodbye!
// a.txt: 6 bytes
// b.bin: 1024 bytes
