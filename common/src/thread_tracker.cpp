// ThreadTracker: see thread_tracker.hpp for the design.
#include "course/thread_tracker.hpp"

#include <utility>

namespace course::socketserver {

bool ThreadTracker::hand_to_idle(std::function<void()>& body) {
    WorkerRef worker;
    {
        std::lock_guard lock(mutex_);
        if (idle_.empty()) return false;
        worker = idle_.back();  // the most recently idle thread: its stack is still warm
        idle_.pop_back();
        worker->next = std::move(body);
    }
    // Outside the lock, so it does not wake into a held mutex. The node stays
    // put: the thread cannot exit while `next` is set, and only the serving
    // thread ever reaps (frees) nodes.
    worker->wake.notify_one();
    return true;
}

void ThreadTracker::start(std::function<void()> body) {
    if (hand_to_idle(body)) return;
    WorkerRef worker;
    {
        std::lock_guard lock(mutex_);
        worker = workers_.emplace(workers_.end());
    }
    // A new thread. The lock covers only the list, not the thread's creation:
    // clone() is slow, and every thread going idle or exiting needs this lock.
    // The node exists before its thread does, so the thread can always find
    // it; only this (the serving) thread touches worker->thread, and reap() and
    // join_all() run here too, so nobody reads it while it is being assigned.
    try {
        worker->thread = std::jthread(
            [this, worker, body = std::move(body)]() mutable { run(worker, std::move(body)); });
    } catch (...) {
        std::lock_guard lock(mutex_);
        workers_.erase(worker);  // no thread (EAGAIN): forget the slot, report upwards
        throw;
    }
}

void ThreadTracker::run(WorkerRef self, std::function<void()> body) noexcept {
    for (;;) {
        try {
            body();
        } catch (...) {  // body is noexcept in practice; this is the last fence
        }
        body = nullptr;  // drops the request (and closes its socket) before idling
        std::unique_lock lock(mutex_);
        if (!closing_) {
            self->offer = idle_.insert(idle_.end(), self);
            self->wake.wait_for(lock, keep_idle_, [&] { return self->next || closing_; });
            if (self->next) {  // start() chose us and took us off idle_
                body = std::move(self->next);
                self->next = nullptr;
                continue;
            }
            idle_.erase(self->offer);  // timed out or closing: no longer on offer
        }
        // Move our own node to the finished list: reaping then costs
        // O(finished), not O(every thread), even with 10,000 clients.
        finished_.splice(finished_.end(), workers_, self);
        changed_.notify_all();
        return;
    }
}

void ThreadTracker::reap() {
    std::list<Worker> finished;
    {
        std::lock_guard lock(mutex_);
        finished.splice(finished.end(), finished_);
    }
    // Joined here, outside the lock (each is past its last use of the lock).
}

void ThreadTracker::join_all() {
    {
        std::unique_lock lock(mutex_);
        closing_ = true;
        for (auto worker : idle_)
            worker->wake.notify_one();
        // Every thread moves itself to finished_ as its last step.
        changed_.wait(lock, [this] { return workers_.empty(); });
        closing_ = false;  // nothing is left running that could still see it
    }
    reap();  // and joins them all
}

std::size_t ThreadTracker::count() {
    std::lock_guard lock(mutex_);
    return workers_.size() + finished_.size();
}

}  // namespace course::socketserver
