#include <gtest/gtest.h>

#include <string>

#include "course/sha256.hpp"

using course::Sha256;
using course::sha256_hex;

// Test vectors from FIPS 180-2 and `printf '' | sha256sum`.
TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, IncrementalEqualsOneShot) {
    std::string data;
    for (int i = 0; i < 100000; ++i)
        data += static_cast<char>(i * 7 + 3);
    Sha256 hash;
    for (std::size_t at = 0; at < data.size(); at += 997)
        hash.update(std::string_view(data).substr(at, 997));
    EXPECT_EQ(hash.size(), data.size());
    EXPECT_EQ(hash.hex_digest(), sha256_hex(data));
}

TEST(Sha256, MillionAs) {
    Sha256 hash;
    const std::string chunk(1000, 'a');
    for (int i = 0; i < 1000; ++i)
        hash.update(chunk);
    EXPECT_EQ(hash.hex_digest(),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, DigestStartsOver) {
    Sha256 hash;
    hash.update("abc");
    EXPECT_EQ(hash.hex_digest(), sha256_hex("abc"));
    EXPECT_EQ(hash.size(), 0u);
    EXPECT_EQ(hash.hex_digest(), sha256_hex(""));
}

TEST(Sha256, Movable) {
    Sha256 first;
    first.update("ab");
    Sha256 second = std::move(first);
    second.update("c");
    EXPECT_EQ(second.hex_digest(), sha256_hex("abc"));
}
