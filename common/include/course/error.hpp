// The course's one error policy.
//
//  * A failed system call throws std::system_error carrying errno, with a message
//    that names what we were doing: "connect to 127.0.0.1:9: Connection refused".
//  * A peer that breaks the protocol throws course::ProtocolError.
//  * A request a server understood but will not carry out (a name outside its
//    root, an upload whose sha256 does not match) throws course::Refused.
//  * A bad command line throws course::UsageError (exit status 2).
//  * SIGINT/SIGTERM makes blocking waits throw course::StopRequested, which unwinds
//    the stack (closing sockets, removing temporary files) and exits 0.
//
// Nothing in common/ ever calls exit(): errors travel up to course::run_main(),
// which prints "error: <what>: <reason>" and picks the exit status.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace course {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ProtocolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Not a broken peer, not a failed system call: the server says why (in a log
// line, or in its reply) and goes on serving the next request.
struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Not an error: the user asked us to stop. Derives from nothing a handler
// would catch by accident (std::exception handlers let it pass).
struct StopRequested {};

// Throws std::system_error for the current errno: "<what>: <strerror(errno)>".
[[noreturn]] inline void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// Throws unless `result` is non-negative; returns it otherwise.
template <typename T>
T check(T result, const std::string& what) {
    if (result < 0) throw_errno(what);
    return result;
}

}  // namespace course
