#include "course/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace course {

struct Sha256::Context {
    EVP_MD_CTX* ctx = nullptr;
    Context() : ctx(EVP_MD_CTX_new()) {
        if (ctx == nullptr) throw std::runtime_error("sha256: out of memory");
        start();
    }
    ~Context() { EVP_MD_CTX_free(ctx); }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    void start() {
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("sha256: EVP_DigestInit_ex failed");
    }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t length) {
    if (length == 0) return;
    if (EVP_DigestUpdate(context_->ctx, data, length) != 1)
        throw std::runtime_error("sha256: EVP_DigestUpdate failed");
    size_ += length;
}

std::string Sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_->ctx, digest, &length) != 1)
        throw std::runtime_error("sha256: EVP_DigestFinal_ex failed");
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        hex += digits[digest[i] >> 4];
        hex += digits[digest[i] & 0x0f];
    }
    context_->start();
    size_ = 0;
    return hex;
}

std::string sha256_hex(std::string_view data) {
    Sha256 hash;
    hash.update(data);
    return hash.hex_digest();
}

}  // namespace course
