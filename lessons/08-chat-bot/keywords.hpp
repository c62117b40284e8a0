// The chat bot's brain: a keyword TABLE (data, not an if-chain) and a matcher.
//
// Kept apart from the server so a test or a fuzzer can call it directly.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace chatbot {

enum class Intent { bye, time, name, hello, unknown };

struct Keyword {
    std::string_view word;  // lower-case English (whole word) or Chinese (substring)
    Intent intent;
};

// --8<-- [start:table]
// Table order is priority order: the first row whose keyword occurs in the
// message wins, so "hello, what time is it?" is answered with the time.
inline constexpr std::array<Keyword, 8> keywords{{
    {"bye", Intent::bye},
    {"再见", Intent::bye},
    {"time", Intent::time},
    {"时间", Intent::time},
    {"name", Intent::name},
    {"名字", Intent::name},
    {"hello", Intent::hello},
    {"你好", Intent::hello},
}};
// --8<-- [end:table]

// Which row of the table `message` matches (any bytes at all: invalid UTF-8
// and very long messages included). English keywords count only as whole
// words, case-insensitive ("TIME?" yes, "timeout" no); Chinese ones anywhere.
Intent match(std::string_view message);

// The bot's answer to `intent`. `now` is the local time, "YYYY-MM-DD HH:MM:SS".
std::string reply(Intent intent, std::string_view now);

// The current local time as "YYYY-MM-DD HH:MM:SS".
std::string local_time_now();

}  // namespace chatbot
