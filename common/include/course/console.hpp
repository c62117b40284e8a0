// Reading messages from the keyboard (stdin), the course's way: one message per
// line, without its newline, and input ends at EOF or at an empty line.
#pragma once

#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace course {

// The next message from `in`, or nothing at EOF or an empty line.
inline std::optional<std::string> read_message(std::istream& in = std::cin) {
    std::string line;
    if (!std::getline(in, line) || line.empty()) return std::nullopt;
    return line;
}

// Every message up to EOF or the first empty line.
inline std::vector<std::string> read_all_messages(std::istream& in = std::cin) {
    std::vector<std::string> messages;
    while (auto message = read_message(in))
        messages.push_back(std::move(*message));
    return messages;
}

}  // namespace course
