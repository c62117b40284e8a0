// fuzz_http_request: libFuzzer target for the request parser (built with -DCOURSE_FUZZ=ON).
//
// The parser reads bytes a stranger sent; it must never crash, read out of
// bounds or loop, whatever those bytes are. The parser's source is compiled
// into this target by the lesson's CMakeLists.txt.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    http::Limits limits;
    limits.max_head = 1024;  // small, so that the limit paths are reached often
    const http::ParseResult result = http::parse_request(input, limits);
    if (result.outcome == http::Outcome::complete) {
        // What the parser promised must hold.
        if (result.consumed == 0 || result.consumed > size) __builtin_trap();
        (void)result.request.keep_alive();
        (void)http::target_to_relative_path(result.request.target);
        (void)http::content_type_for(result.request.target);
    }
    (void)http::percent_decode(input.substr(0, 256));
    return 0;
}
