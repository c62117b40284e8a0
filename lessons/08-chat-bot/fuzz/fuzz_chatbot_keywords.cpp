// fuzz_chatbot_keywords: libFuzzer target for the keyword matcher (built with -DCOURSE_FUZZ=ON).
//
// The matcher reads whatever bytes a client sent: any bytes (invalid UTF-8,
// NULs, megabytes) must give an answer, never a crash or an out-of-bounds
// read. It also checks one promise of the lesson: case does not matter, so
// upper-casing the ASCII letters never changes the intent. The matcher's
// source is compiled into this target by the lesson's CMakeLists.txt.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "keywords.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string message(reinterpret_cast<const char*>(data), size);
    const chatbot::Intent intent = chatbot::match(message);

    std::string upper = message;
    for (char& c : upper)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (chatbot::match(upper) != intent) std::abort();

    if (chatbot::reply(intent, "2026-01-01 00:00:00").empty()) std::abort();
    return 0;
}
