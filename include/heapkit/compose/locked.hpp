// heapkit::locked<A>: makes any allocator safe to share between threads by
// running every call on it under one lock.
//
//   thread 1 ─┐
//   thread 2 ─┼─► lock ─► A.allocate / deallocate / grow / ... / stats ─► unlock
//   thread 3 ─┘
//
// The lock is a three-state futex mutex (Drepper, "Futexes Are Tricky",
// mutex #3) built on std::atomic<std::uint32_t>::wait / notify_one, which
// libstdc++ implements with the futex system call:
//   0 = free, 1 = held, 2 = held and a thread may be sleeping.
// Uncontended, lock and unlock are one atomic instruction each (the fast
// path); a thread that finds the lock held spins briefly, then marks it 2 and
// sleeps in the kernel (lock_slow); unlock wakes one sleeper only when the
// state was 2. It never allocates and never throws (std::mutex::lock may
// throw), it is constant-initialised and trivially destructible, so a
// locked<A> can be a global allocator that serves operator new before main.
// It is not recursive: A must not call back into the same locked<A>.
//
// Every capability of A is forwarded under the lock: allocate_zeroed, grow and
// shrink (in place when A can), owns, usable_size, deallocate_all and stats.
// with_lock(f) runs several steps on A as one critical section; inner() gives
// A without the lock (only for when no other thread can use it).
//
// Invariants: A is only touched while lock_ is held (state != 0) by the
// calling thread, except through inner(); the lock is released on every path.
#pragma once

#include <heapkit/allocator.hpp>

#include <atomic>
#include <cstdint>
#include <utility>

namespace heapkit {

namespace detail {

// The three-state futex mutex described above. Meets BasicLockable.
class futex_lock {
public:
    constexpr futex_lock() noexcept = default;
    futex_lock(const futex_lock&) = delete;
    futex_lock& operator=(const futex_lock&) = delete;

    void lock() noexcept {
        std::uint32_t expected = state_free;
        if (state_.compare_exchange_strong(expected, state_held, std::memory_order_acquire, std::memory_order_relaxed))
            return;
        lock_slow();
    }

    bool try_lock() noexcept {
        std::uint32_t expected = state_free;
        return state_.compare_exchange_strong(expected, state_held, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }

    void unlock() noexcept {
        if (state_.exchange(state_free, std::memory_order_release) == state_contended) state_.notify_one();
    }

private:
    static constexpr std::uint32_t state_free = 0, state_held = 1, state_contended = 2;
    static constexpr int spins = 100;

    [[gnu::noinline]] void lock_slow() noexcept {
        // A short spin first: critical sections around an allocator are short.
        for (int i = 0; i < spins; ++i) {
            if (state_.load(std::memory_order_relaxed) == state_free && try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        // Then sleep. Taking the lock with state 2 is conservative: the next
        // unlock may wake a thread needlessly, but never misses one.
        while (state_.exchange(state_contended, std::memory_order_acquire) != state_free)
            state_.wait(state_contended, std::memory_order_relaxed);
    }

    std::atomic<std::uint32_t> state_{state_free};  // state_free, state_held or state_contended
};

}  // namespace detail

template <allocator A>
class locked {
public:
    constexpr locked() noexcept = default;
    // Builds the inner allocator from `args`.
    template <class... Args>
    requires(sizeof...(Args) > 0 &&
             std::constructible_from<A, Args...>) constexpr explicit locked(std::in_place_t, Args&&... args) noexcept
        : inner_(static_cast<Args&&>(args)...) {}

    // A without the lock: only for when no other thread can reach this allocator.
    A& inner() noexcept { return inner_; }
    const A& inner() const noexcept { return inner_; }

    // Runs f(A&) under the lock and returns its result: several steps as one critical section.
    template <class F>
    decltype(auto) with_lock(F&& f) noexcept {
        guard g(lock_);
        return static_cast<F&&>(f)(inner_);
    }

    memory_block allocate(layout l) noexcept {
        guard g(lock_);
        return inner_.allocate(l);
    }
    memory_block allocate_zeroed(layout l) noexcept {
        guard g(lock_);
        return heapkit::allocate_zeroed(inner_, l);
    }
    void deallocate(void* p, layout l) noexcept {
        guard g(lock_);
        inner_.deallocate(p, l);
    }
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        guard g(lock_);
        return heapkit::grow(inner_, p, old_layout, new_layout);
    }
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        guard g(lock_);
        return heapkit::shrink(inner_, p, old_layout, new_layout);
    }
    bool owns(const void* p) const noexcept requires has_owns<A> {
        guard g(lock_);
        return inner_.owns(p);
    }
    std::size_t usable_size(const void* p, layout l) const noexcept {
        guard g(lock_);
        return heapkit::usable_size(inner_, p, l);
    }
    void deallocate_all() noexcept requires has_deallocate_all<A> {
        guard g(lock_);
        inner_.deallocate_all();
    }
    // A's figures, read under the lock so they are consistent with each other.
    allocator_stats stats() const noexcept requires has_stats<A> {
        guard g(lock_);
        return inner_.stats();
    }

private:
    // Holds the lock for one scope (std::lock_guard without <mutex>).
    class guard {
    public:
        explicit guard(detail::futex_lock& l) noexcept : l_(l) { l_.lock(); }
        ~guard() { l_.unlock(); }
        guard(const guard&) = delete;
        guard& operator=(const guard&) = delete;

    private:
        detail::futex_lock& l_;
    };

    mutable detail::futex_lock lock_;  // held by the thread that is using inner_
    [[no_unique_address]] A inner_{};
};

}  // namespace heapkit
