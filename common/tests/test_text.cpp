#include <gtest/gtest.h>

#include "course/error.hpp"
#include "course/text.hpp"

using course::escape_invalid_utf8;

TEST(EscapeInvalidUtf8, LeavesValidTextAlone) {
    EXPECT_EQ(escape_invalid_utf8("hello"), "hello");
    EXPECT_EQ(escape_invalid_utf8("你好, 世界"), "你好, 世界");
    EXPECT_EQ(escape_invalid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(EscapeInvalidUtf8, EscapesBadBytesInLowerCaseHex) {
    EXPECT_EQ(escape_invalid_utf8("\xff"), "\\xff");
    EXPECT_EQ(escape_invalid_utf8("ok\xc3"), "ok\\xc3");                // truncated sequence
    EXPECT_EQ(escape_invalid_utf8("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
    EXPECT_EQ(escape_invalid_utf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
    EXPECT_EQ(escape_invalid_utf8("\xe4\xbd\xa0\xff"), "你\\xff");
}

TEST(EscapeInvalidUtf8, ResultIsAlwaysValid) {
    std::string every_byte;
    for (int b = 0; b < 256; ++b)
        every_byte.push_back(static_cast<char>(b));
    EXPECT_TRUE(course::is_valid_utf8(escape_invalid_utf8(every_byte)));
}

TEST(Gbk, RoundTripsChineseText) {
    const std::string text = "你好，欢迎来到套接字课程";
    const std::string gbk = course::from_utf8(text, "GBK");
    EXPECT_NE(gbk, text);
    EXPECT_EQ(gbk.size(), 2 * 12u);  // two bytes per character in GBK
    EXPECT_EQ(course::to_utf8(gbk, "GBK"), text);
}

TEST(Gbk, InvalidBytesAreEscaped) {
    EXPECT_EQ(course::to_utf8("a\xff", "GBK"), "a\\xff");
}

TEST(Gbk, UnknownEncodingThrows) {
    EXPECT_THROW(course::to_utf8("x", "NO-SUCH-ENCODING"), std::system_error);
}
