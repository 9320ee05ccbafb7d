// spinlock: the recorder's lock. A word that is 0 (free) or 1 (held); lock()
// spins with a pause, then yields the CPU. Never allocates, never calls into
// the program's allocator, so it may be held around code that the allocator
// itself calls back into (the re-entrancy guard makes those calls unrecorded).
//
// Every recorder lock is taken by the pthread_atfork prepare handler, so a
// fork child never inherits one held by a thread that no longer exists.
#pragma once

#include <atomic>

#include <sched.h>

namespace heapkit::trace::recorder {

struct spinlock {
    std::atomic<int> held{0};  // 1 while a thread is inside

    bool try_lock() noexcept {
        return held.load(std::memory_order_relaxed) == 0 && held.exchange(1, std::memory_order_acquire) == 0;
    }
    void lock() noexcept {
        for (unsigned spins = 0; !try_lock(); ++spins) {
            if (spins < 64)
                __builtin_ia32_pause();
            else
                ::sched_yield();
        }
    }
    void unlock() noexcept { held.store(0, std::memory_order_release); }
    // A fork child: the only thread left; whatever the parent held is ours to release.
    void reset() noexcept { held.store(0, std::memory_order_relaxed); }
};

struct lock_guard {
    spinlock& l;
    explicit lock_guard(spinlock& s) noexcept : l(s) { l.lock(); }
    ~lock_guard() { l.unlock(); }
    lock_guard(const lock_guard&) = delete;
    lock_guard& operator=(const lock_guard&) = delete;
};

}  // namespace heapkit::trace::recorder
