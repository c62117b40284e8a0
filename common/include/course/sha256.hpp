// SHA-256 digests (OpenSSL's EVP interface), as lower-case hex: to prove that
// what arrived is exactly what was sent (lessons 10 and 14).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace course {

// An incremental hasher: feed it chunks as they arrive, so memory does not grow
// with the size of what is hashed.
//
//   course::Sha256 hash;
//   hash.update(chunk1); hash.update(chunk2);
//   std::string hex = hash.hex_digest();   // 64 lower-case hex digits
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, std::size_t length);
    void update(std::string_view data) { update(data.data(), data.size()); }

    // The digest of everything fed so far, as 64 lower-case hex digits.
    // Finishes the hash: the object then starts over, empty.
    std::string hex_digest();

    // Bytes fed since the start (or since the last hex_digest()).
    [[nodiscard]] unsigned long long size() const noexcept { return size_; }

  private:
    struct Context;
    std::unique_ptr<Context> context_;
    unsigned long long size_ = 0;
};

// The digest of `data` in one call.
std::string sha256_hex(std::string_view data);

}  // namespace course
