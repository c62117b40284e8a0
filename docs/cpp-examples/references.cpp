// references.cpp: C++ copies values; `&` makes a reference; `const` forbids changes.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror references.cpp -o references
#include <iostream>
#include <string>
#include <vector>

// A parameter without `&` is a copy: changing it changes nothing outside.
void shout_copy(std::string text) {
    text += "!";
}

// With `&` it is the caller's own string (Python passes every object so).
void shout(std::string& text) {
    text += "!";
}

// `const std::string&`: no copy, and the function promises not to change it.
// The lessons take strings this way.
std::size_t length(const std::string& text) {
    return text.size();
}

int main() {
    std::string a = "hi";
    std::string b = a;  // a copy: Python's b = a would share one object
    b += " there";
    std::cout << a << " / " << b << '\n';

    shout_copy(a);
    std::cout << "after shout_copy: " << a << '\n';
    shout(a);
    std::cout << "after shout: " << a << '\n';
    std::cout << "length: " << length(a) << '\n';

    std::vector<std::string> messages = {"one", "two"};
    // `const std::string&`: each element itself, not a copy of it.
    // `auto` lets the compiler write the type: `const auto& message` is the same.
    std::cout << "messages:";
    for (const std::string& message : messages)
        std::cout << ' ' << message;
    std::cout << '\n';
    for (auto& message : messages)
        message += "!";  // without const: change them
    std::cout << "changed:";
    for (const auto& message : messages)
        std::cout << ' ' << message;
    std::cout << '\n';
    return 0;
}

// It prints:
// hi / hi there
// after shout_copy: hi
// after shout: hi!
// length: 3
// messages: one two
// changed: one! two!
