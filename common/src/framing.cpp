#include "course/framing.hpp"

#include <algorithm>

namespace course {

FrameTooLarge::FrameTooLarge(std::size_t length_, std::size_t max_size_)
    : ProtocolError("frame of " + std::to_string(length_) + " bytes is over the limit of " +
                    std::to_string(max_size_) + " bytes"),
      length(length_),
      max_size(max_size_) {}

// --8<-- [start:encode]
std::array<unsigned char, frame_header_size> encode_length(std::uint32_t length) {
    // Big-endian ("network byte order"): the most significant byte goes first,
    // whatever order this CPU keeps integers in. Python: struct.pack("!I", length).
    return {static_cast<unsigned char>(length >> 24), static_cast<unsigned char>(length >> 16),
            static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length)};
}

std::uint32_t decode_length(const unsigned char* header) {
    // The mirror image: Python's struct.unpack("!I", header)[0].
    return (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
           (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
}

std::string encode_frame(std::string_view payload) {
    if (payload.size() > largest_frame) throw FrameTooLarge(payload.size(), largest_frame);
    const auto header = encode_length(static_cast<std::uint32_t>(payload.size()));
    std::string frame(header.begin(), header.end());
    frame.append(payload);
    return frame;
}
// --8<-- [end:encode]

FrameDecoder::FrameDecoder(std::size_t max_size) : max_size_(std::min(max_size, largest_frame)) {}

// --8<-- [start:decode]
void FrameDecoder::feed(const void* data, std::size_t size) {
    if (failed_) throw FrameTooLarge(expected_, max_size_);
    const auto* bytes = static_cast<const unsigned char*>(data);
    while (size > 0) {
        if (!in_payload_) {
            // Still collecting the 4 header bytes; they may come one at a time.
            const std::size_t take = std::min(size, frame_header_size - header_filled_);
            std::copy_n(bytes, take, header_.begin() + static_cast<std::ptrdiff_t>(header_filled_));
            header_filled_ += take;
            bytes += take;
            size -= take;
            if (header_filled_ < frame_header_size) return;

            expected_ = decode_length(header_.data());
            header_filled_ = 0;
            if (expected_ > max_size_) {
                // Refuse before allocating anything of that size.
                failed_ = true;
                throw FrameTooLarge(expected_, max_size_);
            }
            in_payload_ = true;
            payload_.clear();
            // Grow with what actually arrives, never to what the header merely claims.
            payload_.reserve(std::min<std::size_t>(expected_, 64 * 1024));
        }
        const std::size_t take = std::min(size, expected_ - payload_.size());
        payload_.append(reinterpret_cast<const char*>(bytes), take);
        bytes += take;
        size -= take;
        if (payload_.size() == expected_) {
            ready_.push_back(std::move(payload_));
            payload_ = std::string();
            in_payload_ = false;
        }
    }
}
// --8<-- [end:decode]

std::optional<std::string> FrameDecoder::next() {
    if (ready_.empty()) return std::nullopt;
    std::string frame = std::move(ready_.front());
    ready_.pop_front();
    return frame;
}

std::size_t FrameDecoder::partial_bytes() const {
    return in_payload_ ? frame_header_size + payload_.size() : header_filled_;
}

void send_frame(int fd, std::string_view payload) {
    const std::string frame = encode_frame(payload);
    send_all(fd, frame.data(), frame.size());
}

std::optional<std::string> recv_frame(int fd, std::size_t max_size, double timeout_seconds) {
    unsigned char header[frame_header_size];
    if (!recv_exact(fd, header, sizeof header, timeout_seconds)) return std::nullopt;
    const std::uint32_t length = decode_length(header);
    if (length > max_size) throw FrameTooLarge(length, max_size);
    std::string payload(length, '\0');
    if (length > 0 && !recv_exact(fd, payload.data(), length, timeout_seconds))
        throw ProtocolError("connection closed after a frame header announcing " +
                            std::to_string(length) + " bytes");
    return payload;
}

}  // namespace course
