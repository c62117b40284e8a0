// The keyword matcher behind chatbot_server (see keywords.hpp).
#include "keywords.hpp"

#include <ctime>

namespace chatbot {

namespace {

bool is_ascii_letter_or_digit(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Lower-cases ASCII letters only. Every other byte (Chinese, invalid UTF-8)
// stays as it is, so byte positions do not move.
std::string lower_ascii(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered)
        c = ascii_lower(c);
    return lowered;
}

bool is_english(std::string_view word) {
    for (unsigned char c : word)
        if (c >= 0x80) return false;
    return true;
}

// True when `word` occurs in `text` with no ASCII letter or digit right
// before or after it: "bye!" and "Bye" match "bye", "goodbye" does not.
bool contains_whole_word(std::string_view text, std::string_view word) {
    for (std::size_t at = text.find(word); at != std::string_view::npos;
         at = text.find(word, at + 1)) {
        const bool starts = at == 0 || !is_ascii_letter_or_digit(text[at - 1]);
        const std::size_t end = at + word.size();
        const bool ends = end == text.size() || !is_ascii_letter_or_digit(text[end]);
        if (starts && ends) return true;
    }
    return false;
}

}  // namespace

// --8<-- [start:match]
Intent match(std::string_view message) {
    const std::string text = lower_ascii(message);
    for (const Keyword& keyword : keywords) {
        // UTF-8 never starts a character in the middle of another one, so a
        // plain byte search finds Chinese words correctly.
        const bool found = is_english(keyword.word) ? contains_whole_word(text, keyword.word)
                                                    : text.find(keyword.word) != std::string::npos;
        if (found) return keyword.intent;
    }
    return Intent::unknown;
}
// --8<-- [end:match]

std::string reply(Intent intent, std::string_view now) {
    switch (intent) {
        case Intent::bye:
            return "Goodbye! 再见!";
        case Intent::time:
            return "The time is " + std::string(now) + " (当前时间)";
        case Intent::name:
            return "I am socketbot, a chat bot. 我是聊天机器人 socketbot.";
        case Intent::hello:
            return "Hello! 你好!";
        case Intent::unknown:
            break;
    }
    return "Sorry, I don't understand. 我不明白您的意思.";
}

std::string local_time_now() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char text[32];
    const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
    return std::string(text, length);
}

}  // namespace chatbot
