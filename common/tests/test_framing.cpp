// The length-prefix codec (lesson 13): exact header bytes, and decoding that
// works however the stream is cut into pieces.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "course/fd.hpp"
#include "course/framing.hpp"

namespace {

using course::FrameDecoder;

std::string bytes(std::initializer_list<unsigned char> list) {
    return {list.begin(), list.end()};
}

// Feeds `stream` cut at the given offsets and returns every frame decoded.
std::vector<std::string> decode_in_pieces(const std::string& stream,
                                          const std::vector<std::size_t>& cuts,
                                          std::size_t max_size = course::default_max_frame) {
    FrameDecoder decoder(max_size);
    std::vector<std::string> frames;
    std::size_t start = 0;
    auto feed_until = [&](std::size_t end) {
        decoder.feed(stream.data() + start, end - start);
        start = end;
        while (auto frame = decoder.next())
            frames.push_back(*frame);
    };
    for (std::size_t cut : cuts)
        feed_until(cut);
    feed_until(stream.size());
    EXPECT_TRUE(decoder.at_boundary());
    return frames;
}

const std::vector<std::string> messages = {"hello", "", "x", "你好, TCP", std::string(300, 'z')};

std::string whole_stream() {
    std::string stream;
    for (const auto& message : messages)
        stream += course::encode_frame(message);
    return stream;
}

TEST(Framing, HeaderIsBigEndian) {
    EXPECT_EQ(course::encode_frame("hello"), bytes({0, 0, 0, 5}) + "hello");
    auto header = course::encode_length(0x01020304u);
    EXPECT_EQ(std::string(header.begin(), header.end()), bytes({1, 2, 3, 4}));
    header = course::encode_length(0xFFFFFFFFu);
    EXPECT_EQ(std::string(header.begin(), header.end()), bytes({0xff, 0xff, 0xff, 0xff}));
    EXPECT_EQ(course::encode_frame(""), bytes({0, 0, 0, 0}));
}

TEST(Framing, DecodeLengthMirrorsEncode) {
    for (std::uint32_t n :
         {0u, 1u, 255u, 256u, 65535u, 65536u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
        EXPECT_EQ(course::decode_length(course::encode_length(n).data()), n);
    }
}

TEST(Framing, WholeStreamInOnePiece) {
    EXPECT_EQ(decode_in_pieces(whole_stream(), {}), messages);
}

TEST(Framing, EverySingleSplit) {
    const std::string stream = whole_stream();
    for (std::size_t cut = 0; cut <= stream.size(); ++cut)
        ASSERT_EQ(decode_in_pieces(stream, {cut}), messages) << "cut at " << cut;
}

TEST(Framing, EveryPairOfSplits) {
    // Three pieces, cut anywhere: covers a header split across pieces, a
    // payload split, and pieces holding several frames.
    std::string stream;
    for (const char* m : {"ab", "", "cde", "f"})
        stream += course::encode_frame(m);
    const std::vector<std::string> expected = {"ab", "", "cde", "f"};
    for (std::size_t a = 0; a <= stream.size(); ++a)
        for (std::size_t b = a; b <= stream.size(); ++b)
            ASSERT_EQ(decode_in_pieces(stream, {a, b}), expected) << "cuts " << a << ", " << b;
}

TEST(Framing, OneByteAtATime) {
    const std::string stream = whole_stream();
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i)
        cuts.push_back(i);
    EXPECT_EQ(decode_in_pieces(stream, cuts), messages);
}

TEST(Framing, PartialFrameIsReported) {
    FrameDecoder decoder;
    decoder.feed(bytes({0, 0}));
    EXPECT_FALSE(decoder.at_boundary());
    EXPECT_EQ(decoder.partial_bytes(), 2u);
    decoder.feed(bytes({0, 4}) + "ab");
    EXPECT_EQ(decoder.partial_bytes(), 6u);
    EXPECT_EQ(decoder.expected_length(), 4u);
    EXPECT_FALSE(decoder.next());
    decoder.feed("cd");
    EXPECT_EQ(decoder.next(), "abcd");
    EXPECT_TRUE(decoder.at_boundary());
}

TEST(Framing, HostileHeaderIsRefusedBeforeAllocating) {
    FrameDecoder decoder(1024);
    try {
        decoder.feed(bytes({0xff, 0xff, 0xff, 0xff}));
        FAIL() << "a 4 GiB frame was accepted";
    } catch (const course::FrameTooLarge& e) {
        EXPECT_EQ(e.length, 0xFFFFFFFFu);
        EXPECT_EQ(e.max_size, 1024u);
        EXPECT_STREQ(e.what(), "frame of 4294967295 bytes is over the limit of 1024 bytes");
    }
    EXPECT_TRUE(decoder.failed());
    EXPECT_THROW(decoder.feed("more"), course::FrameTooLarge);  // stays failed
}

TEST(Framing, LimitIsInclusive) {
    FrameDecoder decoder(3);
    decoder.feed(course::encode_frame("abc"));
    EXPECT_EQ(decoder.next(), "abc");
    EXPECT_THROW(decoder.feed(course::encode_frame("abcd")), course::FrameTooLarge);
}

TEST(Framing, FramesBeforeAHostileHeaderAreKept) {
    FrameDecoder decoder(10);
    EXPECT_THROW(decoder.feed(course::encode_frame("ok") + bytes({0, 0, 1, 0})),
                 course::FrameTooLarge);
    EXPECT_EQ(decoder.next(), "ok");
}

TEST(Framing, HugeMaxSizeStillAllocatesOnlyWhatArrives) {
    FrameDecoder decoder(course::largest_frame);
    decoder.feed(bytes({0xff, 0xff, 0xff, 0xff}) + "abc");
    EXPECT_EQ(decoder.partial_bytes(), 7u);
    EXPECT_EQ(decoder.expected_length(), 0xFFFFFFFFu);
}

TEST(Framing, SendAndReceiveOverASocketPair) {
    int ends[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
    course::Fd a(ends[0]), b(ends[1]);
    course::send_frame(a.get(), "first");
    course::send_frame(a.get(), "");
    course::send_all(a.get(), "tail");  // not a frame: recv_frame must not read it
    EXPECT_EQ(course::recv_frame(b.get(), 100, 1.0), "first");
    EXPECT_EQ(course::recv_frame(b.get(), 100, 1.0), "");
    char tail[4];
    ASSERT_TRUE(course::recv_exact(b.get(), tail, 4));
    EXPECT_EQ(std::string(tail, 4), "tail");

    course::send_all(a.get(), bytes({0, 0, 0, 200}));
    EXPECT_THROW(course::recv_frame(b.get(), 100, 1.0), course::FrameTooLarge);

    EXPECT_THROW(course::recv_frame(b.get(), 100, 0.05), std::system_error);  // times out

    course::send_all(a.get(), bytes({0, 0}));
    a.reset();
    EXPECT_THROW(course::recv_frame(b.get(), 100, 1.0), course::ProtocolError);  // cut header
    EXPECT_FALSE(course::recv_frame(b.get(), 100, 1.0));                         // clean EOF
}

}  // namespace
