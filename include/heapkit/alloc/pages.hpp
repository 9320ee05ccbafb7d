// heapkit::pages: whole pages straight from the OS, through the platform layer.
//
// Each non-empty block is its own mapping of size rounded up to the page size:
//
//   block: [ data ........ | rest of last page ]   one mmap, aligned to max(align, page)
//
// Complexity: one system call per operation. Memory is zero on arrival, so
// allocate_zeroed costs nothing extra; grow and shrink use mremap and munmap,
// never copy. Zero-size requests return heapkit::dangling(align) and map
// nothing. Figures are kept with relaxed atomics (the system call dominates).
//
// Invariants: live_bytes_ is the sum of the requested sizes of live blocks;
// held_bytes_ the sum of their mapped (page-rounded) sizes.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/os/linux.hpp>

#include <atomic>
#include <cstddef>

namespace heapkit {

template <os::platform Platform = os::native>
class basic_pages {
public:
    constexpr basic_pages() noexcept = default;
    basic_pages(const basic_pages&) = delete;  // figures belong to one object
    basic_pages& operator=(const basic_pages&) = delete;

    static std::size_t page_size() noexcept { return Platform::page_size(); }

    memory_block allocate(layout l) noexcept {
        if (l.size() == 0) return {dangling(l.align()), 0};
        const std::size_t mapped = round_to_pages(l.size());
        if (mapped == 0) return {};
        void* p = Platform::map(mapped, l.align());
        if (p == nullptr) return {};
        count_in(l.size(), mapped, 1);
        return {p, mapped};
    }

    memory_block allocate_zeroed(layout l) noexcept { return allocate(l); }  // fresh mappings read as zero

    void deallocate(void* p, layout l) noexcept {
        if (l.size() == 0) return;
        const std::size_t mapped = round_to_pages(l.size());
        Platform::release(p, mapped);
        count_out(l.size(), mapped, 1);
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        if (old_layout.size() == 0 || new_layout.align() > old_layout.align() || old_layout.align() > page_size()) {
            return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
        }
        const std::size_t old_mapped = round_to_pages(old_layout.size());
        const std::size_t new_mapped = round_to_pages(new_layout.size());
        if (new_mapped == 0) return {};
        void* q = new_mapped == old_mapped ? p : Platform::remap(p, old_mapped, new_mapped);
        if (q == nullptr) return {};
        count_out(old_layout.size(), old_mapped, 0);
        count_in(new_layout.size(), new_mapped, 0);
        return {q, new_mapped};
    }

    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (new_layout.size() == 0 || new_layout.align() > old_layout.align()) {
            return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
        }
        const std::size_t old_mapped = round_to_pages(old_layout.size());
        const std::size_t new_mapped = round_to_pages(new_layout.size());
        if (new_mapped < old_mapped) Platform::release(static_cast<char*>(p) + new_mapped, old_mapped - new_mapped);
        count_out(old_layout.size(), old_mapped, 0);
        count_in(new_layout.size(), new_mapped, 0);
        return {p, new_mapped};
    }

    std::size_t usable_size(const void*, layout l) const noexcept { return l.size() == 0 ? 0 : round_to_pages(l.size()); }

    allocator_stats stats() const noexcept {
        allocator_stats s;
        s.live_bytes = live_bytes_.load(std::memory_order_relaxed);
        s.live_blocks = live_blocks_.load(std::memory_order_relaxed);
        s.peak_bytes = peak_bytes_.load(std::memory_order_relaxed);
        s.held_bytes = held_bytes_.load(std::memory_order_relaxed);
        s.slack_bytes = s.held_bytes > s.live_bytes ? s.held_bytes - s.live_bytes : 0;
        if (s.peak_bytes < s.live_bytes) s.peak_bytes = s.live_bytes;
        return s;
    }

private:
    // Size rounded up to whole pages; 0 on overflow.
    static std::size_t round_to_pages(std::size_t n) noexcept {
        const std::size_t page = page_size();
        return n > SIZE_MAX - page ? 0 : align_up(n, page);
    }

    void count_in(std::size_t bytes, std::size_t mapped, std::size_t blocks) noexcept {
        const std::size_t live = live_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
        held_bytes_.fetch_add(mapped, std::memory_order_relaxed);
        live_blocks_.fetch_add(blocks, std::memory_order_relaxed);
        std::size_t peak = peak_bytes_.load(std::memory_order_relaxed);
        while (live > peak && !peak_bytes_.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
        }
    }
    void count_out(std::size_t bytes, std::size_t mapped, std::size_t blocks) noexcept {
        live_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
        held_bytes_.fetch_sub(mapped, std::memory_order_relaxed);
        live_blocks_.fetch_sub(blocks, std::memory_order_relaxed);
    }

    std::atomic<std::size_t> live_bytes_{0};   // sum of requested sizes of live blocks
    std::atomic<std::size_t> live_blocks_{0};  // live non-empty blocks
    std::atomic<std::size_t> peak_bytes_{0};   // >= every value live_bytes_ had (may lag by a race)
    std::atomic<std::size_t> held_bytes_{0};   // sum of mapped sizes of live blocks
};

using pages = basic_pages<>;

static_assert(allocator<pages> && has_grow<pages> && has_shrink<pages> && has_stats<pages>);

}  // namespace heapkit
