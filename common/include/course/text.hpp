// Bytes vs text: what a socket carries are bytes; what we print must be valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace course {

// Returns `bytes` unchanged where it is valid UTF-8, and shows every byte that
// is not as a lower-case "\xNN" escape, so the result is always valid UTF-8.
std::string escape_invalid_utf8(std::string_view bytes);

// True when `bytes` is entirely valid UTF-8.
bool is_valid_utf8(std::string_view bytes);

// Converts `bytes` from `encoding` (as iconv names it: "GBK", "UTF-8", ...) to
// UTF-8. Bytes that are not valid in `encoding` come out as "\xNN" escapes.
// Throws std::system_error if iconv does not know the encoding.
std::string to_utf8(std::string_view bytes, const std::string& encoding);

// Converts UTF-8 text to `encoding` (for a program that must speak GBK).
// Throws ProtocolError for characters the encoding cannot represent.
std::string from_utf8(std::string_view text, const std::string& encoding);

}  // namespace course
