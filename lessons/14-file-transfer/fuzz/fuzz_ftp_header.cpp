// fuzz_ftp_header: libFuzzer target for the lesson's JSON header (built with -DCOURSE_FUZZ=ON).
//
// A header is text a stranger sent. Parsing it, and reading the fields the
// server reads (op, name, size, sha256), may only ever give a value or a
// ProtocolError: never a crash, an abort from an uncaught nlohmann exception,
// or a type confusion.
#include <cstddef>
#include <cstdint>
#include <string>

#include "course/error.hpp"
#include "ftp_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const ftp::Json header = ftp::parse_header(text);
        for (const char* key : {"op", "name", "status", "message"}) {
            try {
                static_cast<void>(ftp::string_field(header, key));
            } catch (const course::ProtocolError&) {
            }
        }
        try {
            static_cast<void>(ftp::size_field(header, "size"));
        } catch (const course::ProtocolError&) {
        }
        try {
            const std::string hex = ftp::sha256_field(header, "sha256");
            if (hex.size() != 64) __builtin_trap();  // what the check promised
        } catch (const course::ProtocolError&) {
        }
        // What send_header() would write back must not throw on strange strings.
        static_cast<void>(header.dump(-1, ' ', false, ftp::Json::error_handler_t::replace));
    } catch (const course::ProtocolError&) {
    }
    return 0;
}
