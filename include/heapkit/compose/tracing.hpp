// heapkit::tracing<A>: writes one line per call that goes through A to a
// file descriptor (standard error by default), then returns A's answer:
//
//   heapkit: alloc size=24 align=8 -> 0x5581c2a4b2a0
//   heapkit: alloc_zeroed size=64 align=16 -> 0x5581c2a4b2c0
//   heapkit: grow 0x5581c2a4b2a0 size=24 -> 48 align=8 -> 0x5581c2a4b300
//   heapkit: dealloc 0x5581c2a4b300 size=48 align=8
//
// Each line is formatted into a buffer on the stack and written with one
// write(2) call: tracing never allocates, so it can sit under the global
// allocator without recursing, and lines from different threads do not mix.
// tracing is constant-initialised and trivially destructible.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/line_buffer.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace heapkit {

template <allocator A>
class tracing {
public:
    constexpr tracing() noexcept = default;
    constexpr explicit tracing(int fd) noexcept : fd_(fd) {}
    template <class... Args>
        requires std::constructible_from<A, Args...>
    constexpr tracing(int fd, std::in_place_t, Args&&... args) noexcept : inner_(static_cast<Args&&>(args)...), fd_(fd) {}

    A& inner() noexcept { return inner_; }
    const A& inner() const noexcept { return inner_; }
    int fd() const noexcept { return fd_.load(std::memory_order_relaxed); }
    // Directs the lines to `fd` from now on (-1 silences them). Safe while
    // other threads allocate through this object.
    void set_fd(int fd) noexcept { fd_.store(fd, std::memory_order_relaxed); }

    memory_block allocate(layout l) noexcept {
        memory_block b = inner_.allocate(l);
        log_new("alloc", l, b);
        return b;
    }
    memory_block allocate_zeroed(layout l) noexcept {
        memory_block b = heapkit::allocate_zeroed(inner_, l);
        log_new("alloc_zeroed", l, b);
        return b;
    }
    void deallocate(void* p, layout l) noexcept {
        if (const int fd = fd_.load(std::memory_order_relaxed); fd >= 0) {
            detail::line_buffer<128> line;
            line.text("heapkit: dealloc ").ptr(p).text(" size=").dec(l.size()).text(" align=").dec(l.align()).text("\n");
            (void)line.write_to(fd);
        }
        inner_.deallocate(p, l);
    }
    // The old address is taken as a number before the parent runs: once the
    // block has moved, p is a freed pointer, to print but not to use.
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        const auto old = reinterpret_cast<std::uintptr_t>(p);
        memory_block b = heapkit::grow(inner_, p, old_layout, new_layout);
        log_resize("grow", old, old_layout, new_layout, b);
        return b;
    }
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        const auto old = reinterpret_cast<std::uintptr_t>(p);
        memory_block b = heapkit::shrink(inner_, p, old_layout, new_layout);
        log_resize("shrink", old, old_layout, new_layout, b);
        return b;
    }
    bool owns(const void* p) const noexcept
        requires has_owns<A>
    {
        return inner_.owns(p);
    }
    std::size_t usable_size(const void* p, layout l) const noexcept { return heapkit::usable_size(inner_, p, l); }
    allocator_stats stats() const noexcept
        requires has_stats<A>
    {
        return inner_.stats();
    }

private:
    void log_new(const char* op, layout l, memory_block b) const noexcept {
        const int fd = fd_.load(std::memory_order_relaxed);
        if (fd < 0) return;
        detail::line_buffer<128> line;
        line.text("heapkit: ").text(op).text(" size=").dec(l.size()).text(" align=").dec(l.align()).text(" -> ");
        if (b) {
            line.ptr(b.ptr);
        } else {
            line.text("failed");
        }
        line.text("\n");
        (void)line.write_to(fd);
    }
    void log_resize(const char* op, std::uintptr_t old, layout o, layout n, memory_block b) const noexcept {
        const int fd = fd_.load(std::memory_order_relaxed);
        if (fd < 0) return;
        detail::line_buffer<160> line;
        line.text("heapkit: ").text(op).text(" ").hex(old).text(" size=").dec(o.size()).text(" -> ").dec(n.size());
        line.text(" align=").dec(n.align()).text(" -> ");
        if (b) {
            line.ptr(b.ptr);
        } else {
            line.text("failed");
        }
        line.text("\n");
        (void)line.write_to(fd);
    }

    [[no_unique_address]] A inner_{};
    std::atomic<int> fd_{2};  // where lines go; < 0 means nowhere
};

}  // namespace heapkit
