#include "course/text.hpp"

#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <memory>

#include "course/error.hpp"

namespace course {

namespace {

// Length of the valid UTF-8 sequence starting at `s[i]`, or 0 if it is invalid
// (bad lead byte, bad continuation, overlong form, surrogate, or > U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
    const std::uint8_t lead = byte(i);
    std::size_t length;
    std::uint32_t min_value;
    std::uint32_t value;
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2, min_value = 0x80, value = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3, min_value = 0x800, value = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4, min_value = 0x10000, value = lead & 0x07;
    } else {
        return 0;
    }
    if (i + length > s.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        value = (value << 6) | (byte(i + k) & 0x3F);
    }
    if (value < min_value || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
    return length;
}

std::string hex_escape(std::uint8_t b) {
    static constexpr char digits[] = "0123456789abcdef";
    return {'\\', 'x', digits[b >> 4], digits[b & 0x0F]};
}

struct IconvCloser {
    void operator()(iconv_t cd) const { ::iconv_close(cd); }
};
using Converter = std::unique_ptr<std::remove_pointer_t<iconv_t>, IconvCloser>;

Converter open_converter(const std::string& to, const std::string& from) {
    iconv_t cd = ::iconv_open(to.c_str(), from.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) throw_errno("iconv_open " + from + " -> " + to);
    return Converter(cd);
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size();) {
        std::size_t n = utf8_sequence_length(bytes, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string escape_invalid_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t i = 0; i < bytes.size();) {
        if (std::size_t n = utf8_sequence_length(bytes, i); n > 0) {
            out.append(bytes.substr(i, n));
            i += n;
        } else {
            out += hex_escape(static_cast<std::uint8_t>(bytes[i]));
            ++i;
        }
    }
    return out;
}

std::string to_utf8(std::string_view bytes, const std::string& encoding) {
    Converter cd = open_converter("UTF-8", encoding);
    std::string out;
    char buffer[4096];
    char* in = const_cast<char*>(bytes.data());  // iconv's signature is not const-correct
    std::size_t in_left = bytes.size();
    while (in_left > 0) {
        char* dst = buffer;
        std::size_t dst_left = sizeof buffer;
        std::size_t rc = ::iconv(cd.get(), &in, &in_left, &dst, &dst_left);
        out.append(buffer, static_cast<std::size_t>(dst - buffer));
        if (rc == static_cast<std::size_t>(-1)) {
            if (errno == E2BIG) continue;  // output buffer full: go round again
            // EILSEQ or EINVAL: a byte that is not valid here; show it and move on.
            out += hex_escape(static_cast<std::uint8_t>(*in));
            ++in;
            --in_left;
            ::iconv(cd.get(), nullptr, nullptr, nullptr, nullptr);  // reset shift state
        }
    }
    return out;
}

std::string from_utf8(std::string_view text, const std::string& encoding) {
    Converter cd = open_converter(encoding, "UTF-8");
    std::string out;
    char buffer[4096];
    char* in = const_cast<char*>(text.data());
    std::size_t in_left = text.size();
    while (in_left > 0) {
        char* dst = buffer;
        std::size_t dst_left = sizeof buffer;
        std::size_t rc = ::iconv(cd.get(), &in, &in_left, &dst, &dst_left);
        out.append(buffer, static_cast<std::size_t>(dst - buffer));
        if (rc == static_cast<std::size_t>(-1) && errno != E2BIG)
            throw ProtocolError("text cannot be encoded as " + encoding);
    }
    return out;
}

}  // namespace course
