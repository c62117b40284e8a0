#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

#include "course/address.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"

namespace {

std::pair<course::Fd, course::Fd> socket_pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    return {course::Fd(fds[0]), course::Fd(fds[1])};
}

}  // namespace

TEST(Fd, MovesOwnershipAndClosesOnce) {
    auto [a, b] = socket_pair();
    const int raw = a.get();
    course::Fd moved(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(moved.get(), raw);
    moved.reset();
    EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // really closed
}

TEST(Address, FormatsIpv4AndIpv6) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(8080);
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(course::format_address(reinterpret_cast<sockaddr*>(&v4), sizeof v4),
              "127.0.0.1:8080");
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(9000);
    v6.sin6_addr = in6addr_loopback;
    EXPECT_EQ(course::format_address(reinterpret_cast<sockaddr*>(&v6), sizeof v6), "[::1]:9000");
}

TEST(Address, ResolvesLiteralsOfBothFamilies) {
    auto v4 = course::resolve("127.0.0.1", 80, SOCK_STREAM);
    ASSERT_FALSE(v4.empty());
    EXPECT_EQ(v4.front().to_string(), "127.0.0.1:80");
    auto v6 = course::resolve("::1", 80, SOCK_STREAM);
    ASSERT_FALSE(v6.empty());
    EXPECT_EQ(v6.front().to_string(), "[::1]:80");
}

TEST(Address, UnknownHostThrowsWithName) {
    try {
        course::resolve("no-such-host.invalid", 80, SOCK_STREAM);
        FAIL() << "expected an exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("resolve no-such-host.invalid"), std::string::npos);
    }
}

TEST(Io, SendAllAndRecvExactMoveEveryByte) {
    auto [a, b] = socket_pair();
    std::string big(4 << 20, 'x');  // larger than any socket buffer
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 7);
    std::thread writer([&, fd = a.get()] { course::send_all(fd, big); });
    std::string got(big.size(), '\0');
    EXPECT_TRUE(course::recv_exact(b.get(), got.data(), got.size()));
    writer.join();
    EXPECT_EQ(got, big);
}

TEST(Io, RecvExactReportsCleanAndPartialClose) {
    {
        auto [a, b] = socket_pair();
        a.reset();
        char buf[4];
        EXPECT_FALSE(course::recv_exact(b.get(), buf, sizeof buf));
    }
    {
        auto [a, b] = socket_pair();
        course::send_all(a.get(), "ab");
        a.reset();
        char buf[4];
        EXPECT_THROW(course::recv_exact(b.get(), buf, sizeof buf), course::ProtocolError);
    }
}

TEST(Io, SendToClosedPeerThrowsInsteadOfSigpipe) {
    auto [a, b] = socket_pair();
    b.reset();
    EXPECT_THROW(course::send_all(a.get(), "hello"), std::system_error);
}

TEST(Io, WaitReadableTimesOut) {
    auto [a, b] = socket_pair();
    EXPECT_FALSE(course::wait_readable(a.get(), 0.05));
    course::send_all(b.get(), "x");
    EXPECT_TRUE(course::wait_readable(a.get(), 0.05));
}

TEST(Net, ListenConnectAndAcceptOnLoopback) {
    course::Fd listener = course::listen_tcp("127.0.0.1", 0);
    const std::uint16_t port = course::local_port(listener.get());
    EXPECT_NE(port, 0);
    course::Fd client = course::connect_tcp("127.0.0.1", port, 2.0);
    course::Fd server = course::accept_client(listener.get());
    EXPECT_EQ(course::peer_address(server.get()), course::local_address(client.get()));
}

TEST(Net, ConnectRefusedNamesTheAddress) {
    course::Fd listener = course::listen_tcp("127.0.0.1", 0);
    const std::uint16_t port = course::local_port(listener.get());
    listener.reset();  // nobody listens there any more
    try {
        course::connect_tcp("127.0.0.1", port, 2.0);
        FAIL() << "expected an exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ECONNREFUSED);
        EXPECT_NE(std::string(e.what()).find("connect to 127.0.0.1:"), std::string::npos);
    }
}

TEST(Net, PeerAddressOfAGonePeerIsNotAnError) {
    // getpeername() on a socket with no peer fails with ENOTCONN, exactly as it
    // does when a client resets between accept() and the call.
    course::Fd unconnected(::socket(AF_INET, SOCK_STREAM, 0));
    EXPECT_EQ(course::peer_address(unconnected.get()), "(peer already gone)");
}

TEST(Io, RecvExactGivesUpAfterItsTimeout) {
    auto [a, b] = socket_pair();
    course::send_all(a.get(), "ab");  // 2 of the 4 bytes, then silence
    char buf[4];
    try {
        course::recv_exact(b.get(), buf, sizeof buf, 0.05);
        FAIL() << "expected a timeout";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::timed_out);
        EXPECT_STREQ(e.what(), "no data from the peer for 0.05 s: Connection timed out");
    }
}
