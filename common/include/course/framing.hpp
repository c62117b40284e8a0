// Length-prefixed framing (lesson 13): every message travels as a 4-byte
// unsigned big-endian length, then that many payload bytes. In Python:
//
//     frame = struct.pack("!I", len(payload)) + payload
//
//     +--------+--------+--------+--------+---------------------------+
//     | len>>24| len>>16| len>>8 |  len   |  payload (len bytes)      |
//     +--------+--------+--------+--------+---------------------------+
//       most significant byte first ("network byte order")
//
// The receiving side never trusts the length: a frame over `max_size` is
// refused as soon as its 4 header bytes are in, before anything of that size
// is allocated, so a hostile 0xFFFFFFFF header costs nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "course/error.hpp"
#include "course/io.hpp"

namespace course {

inline constexpr std::size_t frame_header_size = 4;
inline constexpr std::size_t default_max_frame = 1024 * 1024;  // 1 MiB
inline constexpr std::size_t largest_frame = 0xFFFFFFFFu;      // what 4 bytes can say

// A frame whose header announces more than the receiver accepts.
struct FrameTooLarge : ProtocolError {
    FrameTooLarge(std::size_t length, std::size_t max_size);
    std::size_t length;
    std::size_t max_size;
};

// The 4 header bytes for a payload of `length` bytes, built one byte at a time
// (never by copying an integer's memory: that would depend on the CPU's byte order).
std::array<unsigned char, frame_header_size> encode_length(std::uint32_t length);

// The length the 4 header bytes at `header` announce.
std::uint32_t decode_length(const unsigned char* header);

// Header + payload, ready for one send_all(). Throws FrameTooLarge over 4 GiB - 1.
std::string encode_frame(std::string_view payload);

// Decodes frames from a byte stream cut into arbitrary pieces (whatever each
// recv() happened to return): feed() every piece, then take complete frames with
// next(). Memory held is what was fed and not yet taken: a header alone never
// makes it allocate the announced size.
class FrameDecoder {
  public:
    explicit FrameDecoder(std::size_t max_size = default_max_frame);

    // Consumes `size` bytes. Throws FrameTooLarge (and stays failed) as soon as
    // a header over max_size is complete; the bytes after it are not looked at.
    void feed(const void* data, std::size_t size);
    void feed(std::string_view data) { feed(data.data(), data.size()); }

    // The oldest complete frame's payload, or nothing.
    std::optional<std::string> next();

    // True between frames: no header or payload byte is waiting for the rest.
    [[nodiscard]] bool at_boundary() const { return header_filled_ == 0 && !in_payload_; }

    // Bytes of the current, incomplete frame received so far (header included).
    [[nodiscard]] std::size_t partial_bytes() const;

    // The current incomplete frame's announced payload length (0 while in the header).
    [[nodiscard]] std::size_t expected_length() const { return in_payload_ ? expected_ : 0; }

    [[nodiscard]] bool failed() const { return failed_; }
    [[nodiscard]] std::size_t max_size() const { return max_size_; }

  private:
    std::size_t max_size_;
    std::array<unsigned char, frame_header_size> header_{};
    std::size_t header_filled_ = 0;
    bool in_payload_ = false;
    std::size_t expected_ = 0;
    std::string payload_;
    std::deque<std::string> ready_;
    bool failed_ = false;
};

// Socket helpers for protocols that read one frame at a time and then something
// else (lesson 14: a header frame, then a raw body): they never read past the frame.

// Sends header and payload with send_all.
void send_frame(int fd, std::string_view payload);

// Reads exactly one frame. Returns nothing if the peer closed before its first
// byte; throws ProtocolError if it closed part-way, FrameTooLarge over
// `max_size` (before reading or allocating the payload), and
// std::system_error(ETIMEDOUT) when one wait for data exceeds `timeout_seconds`.
std::optional<std::string> recv_frame(int fd, std::size_t max_size,
                                      double timeout_seconds = forever);

}  // namespace course
