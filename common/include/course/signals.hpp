// Signals, the course's way.
//
// SIGPIPE: writing to a peer that went away must never kill a program, so it is
// ignored (course::run_main does this first thing) and send() reports EPIPE instead.
//
// SIGINT/SIGTERM: a server calls install_stop_handlers(). From then on the
// handler only writes one byte to a "stop pipe" (the self-pipe trick: write() is
// async-signal-safe, exit() is not). Every blocking wait in common/ polls that
// pipe too, so the wait throws course::StopRequested at once, the stack unwinds,
// destructors close sockets and remove temporary files, and the program exits 0.
// The pipe is never drained, so every thread that waits sees it.
#pragma once

namespace course {

void ignore_sigpipe();

// Routes SIGINT and SIGTERM to the stop pipe. Safe to call more than once.
void install_stop_handlers();

// True once SIGINT/SIGTERM arrived (or request_stop() was called).
bool stop_requested() noexcept;

// The read end of the stop pipe, for callers that build their own poll() set;
// -1 before install_stop_handlers().
int stop_fd() noexcept;

// Asks for a stop from inside the program, as the signal would (async-signal-safe).
void request_stop() noexcept;

// Throws StopRequested if a stop was requested.
void throw_if_stop_requested();

}  // namespace course
