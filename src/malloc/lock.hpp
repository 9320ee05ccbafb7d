// spin_lock: the only lock heapkit malloc has, guarding the rare global
// structures (the heap pool and the abandoned-segment pool). It is a
// constant-initialised atomic flag, so it works before main and needs no
// constructor; waiters yield the CPU. Fork handlers take it before fork and
// release it in both parent and child (see heap.cpp).
#pragma once

#include <atomic>

#include <sched.h>

namespace heapkit::hkmalloc {

class spin_lock {
public:
    constexpr spin_lock() noexcept = default;
    void lock() noexcept {
        while (locked_.exchange(true, std::memory_order_acquire)) {
            while (locked_.load(std::memory_order_relaxed)) ::sched_yield();
        }
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};  // true while a thread holds the lock
};

class lock_guard {
public:
    explicit lock_guard(spin_lock& l) noexcept : l_(l) { l_.lock(); }
    ~lock_guard() { l_.unlock(); }
    lock_guard(const lock_guard&) = delete;
    lock_guard& operator=(const lock_guard&) = delete;

private:
    spin_lock& l_;
};

}  // namespace heapkit::hkmalloc
