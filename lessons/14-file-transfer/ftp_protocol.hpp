// What ftp_server and ftp_client share: the header frames, the JSON fields, and
// files written under a temporary name.
//
// Every request and every reply starts with a header: a lesson 13 frame (4-byte
// big-endian length) holding a UTF-8 JSON object. A body, when there is one,
// follows as exactly `size` raw bytes.
//
//   client                                         server
//   [len]{"op": "ls"}                        ───▶
//                                            ◀───  [len]{"status": "ok", "message": ..., "files":
//                                            [...]}
//   [len]{"op": "get", "name": "a.bin"}      ───▶
//                                            ◀───  [len]{"status": "ok", "size": S, "sha256": H,
//                                            ...} + S bytes
//   [len]{"op": "put", "name": "a.bin",
//         "size": S, "sha256": H} + S bytes  ───▶
//                                            ◀───  [len]{"status": "ok" or "error", "message": ...}
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "course/error.hpp"
#include "course/files.hpp"
#include "course/framing.hpp"

namespace ftp {

using Json = nlohmann::json;

inline constexpr std::uint16_t default_port = 8014;
inline constexpr std::size_t max_request_header = 64 * 1024;  // a request is a few names
inline constexpr std::size_t max_reply_header = 4 << 20;      // an `ls` of a big folder
inline constexpr std::size_t chunk_size = 1 << 20;            // bytes per read/write: memory
                                                              // stays this size, not the file's

// --8<-- [start:header]
// One header: JSON text in a length-prefixed frame. Invalid UTF-8 in a string
// (a strange file name) is replaced, not fatal.
inline void send_header(int fd, const Json& header) {
    course::send_frame(fd, header.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// A header's text as a JSON object; anything else is a ProtocolError.
inline Json parse_header(const std::string& text) {
    Json header = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded()) throw course::ProtocolError("the header is not valid JSON");
    if (!header.is_object()) throw course::ProtocolError("the header is not a JSON object");
    return header;
}

// The next header, or nothing if the peer closed before sending one. A frame
// over `max_size` is refused from its length alone (lesson 13).
inline std::optional<Json> recv_header(int fd, std::size_t max_size, double timeout) {
    std::optional<std::string> text = course::recv_frame(fd, max_size, timeout);
    if (!text) return std::nullopt;
    return parse_header(*text);
}
// --8<-- [end:header]

// Fields, checked: a missing field or a wrong type is the peer's mistake.
inline std::string string_field(const Json& header, const char* key) {
    auto it = header.find(key);
    if (it == header.end() || !it->is_string())
        throw course::ProtocolError(std::string("\"") + key + "\" must be a string");
    return it->get<std::string>();
}

inline std::uint64_t size_field(const Json& header, const char* key) {
    auto it = header.find(key);
    if (it == header.end() || !it->is_number_unsigned())
        throw course::ProtocolError(std::string("\"") + key +
                                    "\" must be a whole number of bytes, 0 or more");
    return it->get<std::uint64_t>();
}

// 64 lower-case hex digits, as course::Sha256::hex_digest() writes them.
inline std::string sha256_field(const Json& header, const char* key) {
    std::string hex = string_field(header, key);
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw course::ProtocolError(std::string("\"") + key +
                                    "\" must be 64 lower-case hex digits");
    return hex;
}

// --8<-- [start:partfile]
// A file written under a temporary name. Only commit() gives it its real name,
// after the caller verified the sha256; if anything goes wrong first (an error,
// a vanished peer, Ctrl-C unwinding the stack), the destructor deletes it. So
// the final name only ever holds a complete, verified file. (The client's
// downloads; the server's uploads do the same inside its root, with
// course::PartFileInside.)
class PartFile {
  public:
    PartFile(std::filesystem::path temp, bool append = false)
        : temp_(std::move(temp)),
          fd_(::open(temp_.c_str(),
                     O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC),
                     0644)) {
        if (fd_ < 0) course::throw_errno("open " + temp_.string());
    }
    ~PartFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!keep_) ::unlink(temp_.c_str());
    }
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;

    void write(const char* data, std::size_t size) {
        course::write_all(fd_, data, size, temp_.string());
    }

    // Closes (a late write error shows up here) and renames to `final_name`,
    // which replaces an older file of that name in one step.
    void commit(const std::filesystem::path& final_name) {
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) < 0) course::throw_errno("close " + temp_.string());
        if (::rename(temp_.c_str(), final_name.c_str()) < 0)
            course::throw_errno("rename " + temp_.string() + " to " + final_name.string());
        keep_ = true;
    }

    // Whether the temporary file stays when this object goes uncommitted (get --resume).
    void keep_on_failure(bool keep = true) { keep_ = keep; }

    [[nodiscard]] const std::filesystem::path& path() const { return temp_; }

  private:
    std::filesystem::path temp_;
    int fd_;
    bool keep_ = false;
};
// --8<-- [end:partfile]

}  // namespace ftp
