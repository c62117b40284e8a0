// json.cpp: nlohmann::json, the JSON library of lesson 14's headers. A json
// value behaves much like Python's dict/list/str/int from json.loads().
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror json.cpp -o json
//   (header only: Debian's nlohmann-json3-dev; nothing to link)
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

using Json = nlohmann::json;

int main() {
    // Build a header like a dict. dump() is json.dumps(): keys come out sorted.
    Json request = {{"command", "get"}, {"name", "a.txt"}};
    std::cout << request.dump() << '\n';

    // Parse what a peer sent. allow_exceptions=false: bad text gives a
    // "discarded" value to check, instead of an exception.
    std::string text = R"({"status":"ok","size":6,"files":["a.txt","b.bin"]})";
    Json reply = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object()) return 1;

    // A peer's fields are checked before use: present, and of the right type.
    auto it = reply.find("size");
    if (it != reply.end() && it->is_number_unsigned())
        std::cout << "size: " << it->get<std::uint64_t>() << '\n';
    for (const Json& name : reply.at("files"))
        std::cout << "file: " << name.get<std::string>() << '\n';

    // The wrong type throws nlohmann::json::exception (a std::exception).
    try {
        std::string wrong = reply.at("size").get<std::string>();  // a number
    } catch (const Json::exception& error) {
        std::cout << "error: " << error.what() << '\n';
    }

    Json broken = Json::parse("{not json", nullptr, false);
    std::cout << "broken is discarded: " << std::boolalpha << broken.is_discarded() << '\n';
    return 0;
}

// It prints:
// {"command":"get","name":"a.txt"}
// size: 6
// file: a.txt
// file: b.bin
// error: [json.exception.type_error.302] type must be string, but is number
// broken is discarded: true
