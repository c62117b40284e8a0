// threads.cpp: std::jthread, std::mutex, std::condition_variable, std::atomic.
// Lesson 15's server keeps a thread per client and lets idle threads wait for
// the next one; lesson 19's connections are jthreads too.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror threads.cpp -o threads
//   (older g++ and clang++ may need -pthread)
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

// A queue of jobs that several threads share. Every access to `jobs` and
// `closing` holds `mutex`: two threads changing a deque at once corrupt it.
struct Queue {
    std::mutex mutex;
    std::condition_variable changed;  // "jobs or closing changed": wake up, look
    std::deque<int> jobs;
    bool closing = false;
};

std::atomic<int> total = 0;  // an atomic needs no lock for one += at a time

void worker(Queue& queue) {
    for (;;) {
        int job;
        {
            std::unique_lock lock(queue.mutex);
            // wait() releases the lock while it sleeps, and returns (holding
            // it again) once the condition is true: no busy loop.
            queue.changed.wait(lock, [&] { return !queue.jobs.empty() || queue.closing; });
            if (queue.jobs.empty()) return;  // closing, and nothing left to do
            job = queue.jobs.front();
            queue.jobs.pop_front();
        }  // unlocked here: do the work without holding up the others
        total += job;
    }
}

int main() {
    Queue queue;
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 2; ++i)
            threads.emplace_back(worker, std::ref(queue));

        for (int job = 1; job <= 100; ++job) {
            std::lock_guard lock(queue.mutex);  // locked until the end of the block
            queue.jobs.push_back(job);
            queue.changed.notify_one();
        }
        {
            std::lock_guard lock(queue.mutex);
            queue.closing = true;
        }
        queue.changed.notify_all();
    }  // a jthread joins (waits for its thread to end) in its destructor
    std::cout << "total: " << total << '\n';
    return 0;
}

// It prints:
// total: 5050
