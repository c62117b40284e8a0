// Fuzz target: the UTF-8 validator/escaper and the GBK decoder never crash,
// and always produce valid UTF-8, whatever bytes a peer sends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "course/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (!course::is_valid_utf8(course::escape_invalid_utf8(bytes))) std::abort();
    if (!course::is_valid_utf8(course::to_utf8(bytes, "GBK"))) std::abort();
    return 0;
}
