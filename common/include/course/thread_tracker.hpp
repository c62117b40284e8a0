// ThreadTracker: the threads behind socketserver's ThreadingMixIn, made cheap.
//
// Python's ThreadingMixIn starts a new thread for every request and keeps a
// list of them to join (Lib/socketserver.py, _Threads). That is the design
// here too, with one addition for speed: a thread whose request is done waits
// up to `keep_idle` (2 s) for the next request before it exits, so a stream of
// short connections reuses a few threads instead of paying for a new one each
// time. Creating a thread (clone(), a stack, its exit and join) costs more CPU
// than a whole connect-request-close over loopback: this reuse alone took
// lesson 15's connect-request-close benchmark from about 4,900 to 10,000
// requests/s. It is not a thread pool: every request still gets a thread of
// its own at once, and nothing ever queues behind another request.
//
// The bookkeeping, three lists under one mutex:
//   workers_   threads alive (busy or idle)
//   idle_      the idle ones, most recently idle last (its stack is still warm)
//   finished_  threads that exited, waiting to be joined by reap()
// Each thread moves its own node from workers_ to finished_ as its last step,
// so reap() costs O(exited threads), not O(all threads), even with 10,000
// clients. Only the serving thread starts threads and joins them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace course::socketserver {

class ThreadTracker {
  public:
    explicit ThreadTracker(std::chrono::milliseconds keep_idle = std::chrono::seconds(2))
        : keep_idle_(keep_idle) {}
    ThreadTracker(const ThreadTracker&) = delete;
    ThreadTracker& operator=(const ThreadTracker&) = delete;
    ~ThreadTracker() { join_all(); }

    // Runs `body` on an idle thread, or on a new one if none is idle (throws
    // std::system_error if no thread can be made). `body` must not throw.
    void start(std::function<void()> body);
    // Joins the threads that have exited (Python's _Threads.reap).
    void reap();
    // Lets every thread finish its request, wakes the idle ones, joins them all
    // (Python's _Threads.join).
    void join_all();
    // Threads alive (busy or idle) or exited and not yet reaped.
    [[nodiscard]] std::size_t count();

  private:
    struct Worker;
    using WorkerRef = std::list<Worker>::iterator;
    struct Worker {
        std::jthread thread;
        std::function<void()> next;            // handed over by start() while idle
        std::condition_variable wake;          // start() or join_all() has news
        std::list<WorkerRef>::iterator offer;  // where it sits in idle_, while idle
    };
    // Moves `body` to an idle thread and wakes it; false if none is idle.
    bool hand_to_idle(std::function<void()>& body);
    void run(WorkerRef self, std::function<void()> body) noexcept;

    const std::chrono::milliseconds keep_idle_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::list<Worker> workers_;   // alive: busy or idle
    std::list<WorkerRef> idle_;   // the idle ones, most recently idle last
    std::list<Worker> finished_;  // exited, waiting to be joined
    bool closing_ = false;        // join_all() is waiting: idle threads exit
};

}  // namespace course::socketserver
