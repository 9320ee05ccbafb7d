// heapkit::buddy: the binary buddy system (Knowlton 1965, Knuth TAOCP 2.5).
// Power-of-two blocks carved from one power-of-two arena; a block of order k
// (2^k bytes) sits at an offset that is a multiple of 2^k, and its buddy is
// the block at offset ^ 2^k.
//
//   arena (2^top bytes)                                    side bitmap (after the arena)
//   [ 0 ............................. | 2^(top-1) ....... ]  1 bit per 16-byte unit:
//   [ A:64 | B:64 | C:128 free | D:256 free | ......      ]  set where a free block starts
//     buddy(A) = B = 0 ^ 64;  buddy(C) = 128 ^ 128 = 0 (the pair A+B, 128)
//
//   heads_[k] -> free block of order k <-> ... (doubly linked through the free
//   blocks by 32-bit unit indices; the block also holds its order)
//   nonempty_: bit k set iff heads_[k] is non-empty
//
// Per-block record, and its cost: live blocks carry no header. deallocate,
// grow and shrink recompute the order from the layout they are given (the
// allocator contract passes the block's layout back), so a user gets the
// whole 2^k bytes, naturally aligned to 2^k. What merging needs, "is my buddy
// free and of my order?", is answered by the side bitmap (is a free block
// starting there?) and the order byte inside that free block. The bitmap costs
// 1 bit per 16 bytes (0.8% of the arena), placed after the arena in the same
// memory; the free-list links live in the free blocks themselves. The least
// block is 16 bytes (two 32-bit links and an order byte fit in it).
//
// Invariants:
//   - the free blocks and live blocks tile the arena; every block of order k
//     lies at an offset that is a multiple of 2^k;
//   - no free block's buddy is a free block of the same order (merging is
//     immediate), so a free region is always one block as large as its buddy
//     structure allows;
//   - a bitmap bit is set iff a free block starts at that unit; that block is
//     in heads_[its order] and nowhere else;
//   - free_bytes_ is the sum of free block sizes; block_bytes_ the sum of
//     live block sizes (2^order each).
//
// Complexity (n = arena / 16): allocate O(log n) (one bit scan finds the
// least non-empty order, then at most log n splits); deallocate O(log n)
// (at most log n merges, each an O(1) bitmap test and unlink). Internal
// fragmentation up to 50% (a request of 2^k + 1 bytes takes 2^(k+1)).
//
// The arena: with a parent (heapkit::pages by default) it is taken on the
// first non-empty allocation, aligned to its size, so a block of order k is
// aligned to 2^k and any alignment up to the arena size is honoured; with
// pages it is address space, paid for in memory only where touched. Over a
// caller's buffer the arena is the largest power of two that fits with its
// bitmap (base aligned to min(arena, 4 KiB)); alignments above the base's own
// alignment fail there. A buddy never grows: a request larger than the arena,
// or when the arena is full, fails with {nullptr, 0}. Compose, e.g.
// fallback<buddy<>, pages>, to overflow elsewhere.
#pragma once

#include <heapkit/alloc/pages.hpp>
#include <heapkit/allocator.hpp>
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace heapkit {

template <class Parent = pages>
class buddy {
public:
    static constexpr unsigned min_order = 4;  // the least block: 16 bytes
    static constexpr std::size_t min_block = std::size_t{1} << min_order;
    static constexpr unsigned max_order = 35;  // the largest arena: 32 GiB (unit indices fit 32 bits)
    static constexpr std::size_t default_arena_bytes = std::size_t{128} << 20;

    // An arena of default_arena_bytes from a default-constructed Parent, taken on first use.
    buddy() noexcept : buddy(default_arena_bytes) {}
    // An arena of `arena_bytes` rounded up to a power of two (32 bytes to 32 GiB), taken on first use.
    explicit buddy(std::size_t arena_bytes) noexcept
        : arena_bytes_(std::bit_ceil(arena_bytes < 2 * min_block                 ? 2 * min_block
                                     : arena_bytes > std::size_t{1} << max_order ? std::size_t{1} << max_order
                                                                                 : arena_bytes)) {}
    // The largest power-of-two arena (plus its bitmap) that fits in `buffer`;
    // never calls the parent. The buffer must outlive this allocator.
    explicit buddy(std::span<std::byte> buffer) noexcept : fixed_(true) {
        held_bytes_ = buffer.size();
        const auto lo = reinterpret_cast<std::uintptr_t>(buffer.data());
        const std::uintptr_t hi = lo + buffer.size();
        for (unsigned k = max_order; k > min_order; --k) {
            const std::size_t s = std::size_t{1} << k;
            const std::uintptr_t base = align_up(lo, s < 4096 ? s : 4096);
            if (base >= lo && base <= hi && hi - base >= s && hi - base - s >= bitmap_bytes(s)) {
                init(reinterpret_cast<char*>(base), s);
                return;
            }
        }
    }

    buddy(const buddy&) = delete;  // blocks point into this object's arena
    buddy& operator=(const buddy&) = delete;
    ~buddy() {
        if (!fixed_ && memory_ != nullptr) parent_.deallocate(memory_, arena_layout());
    }

    memory_block allocate(layout l) noexcept {
        if (l.size() == 0) {
            ++live_blocks_;
            return {dangling(l.align()), 0};
        }
        const unsigned k = order_for(l);
        if (k > top_order_ || l.align() > base_align_) return allocate_slow(l);
        const std::uint64_t avail = nonempty_ >> k;
        if (avail == 0) return allocate_slow(l);
        unsigned j = k + static_cast<unsigned>(std::countr_zero(avail));
        const std::uint32_t u = heads_[j];
        remove(u, j);
        while (j > k) {  // split, keeping the left half, filing the right one
            --j;
            push(u + units(j), j);
        }
        live_bytes_ += l.size();
        ++live_blocks_;
        block_bytes_ += std::size_t{1} << k;
        if (live_bytes_ > peak_bytes_) peak_bytes_ = live_bytes_;
        return {base_ + std::size_t{u} * min_block, std::size_t{1} << k};
    }

    void deallocate(void* p, layout l) noexcept {
        --live_blocks_;
        if (l.size() == 0) return;
        check_block(p, l, "deallocate");
        unsigned k = order_for(l);
        live_bytes_ -= l.size();
        block_bytes_ -= std::size_t{1} << k;
        std::uint32_t u = unit_of(p);
        while (k < top_order_) {  // merge while the buddy is a whole free block
            const std::uint32_t b = u ^ units(k);
            if (!is_free_start(b) || node(b)->order != k) break;
            remove(b, k);
            u &= ~units(k);
            ++k;
        }
        push(u, k);
    }

    // In place when the new order is not larger, or when every right buddy up
    // to the new order is free (the block is then the left one at each level);
    // otherwise allocate, copy and free.
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        return resize(p, old_layout, new_layout);
    }

    // In place: the right halves down to the new order are freed. Shrinking to
    // 0 frees the block and returns the zero-size placeholder.
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (new_layout.size() == 0) {
            deallocate(p, old_layout);
            ++live_blocks_;
            return {dangling(new_layout.align()), 0};
        }
        return resize(p, old_layout, new_layout);
    }

    bool owns(const void* p) const noexcept {
        const char* c = static_cast<const char*>(p);
        return base_ != nullptr && c >= base_ && c < base_ + arena_bytes_;
    }

    std::size_t usable_size(const void*, layout l) const noexcept {
        return l.size() == 0 ? 0 : std::size_t{1} << order_for(l);
    }

    // Frees every block: the arena becomes one free block again (it is kept).
    void deallocate_all() noexcept {
        live_bytes_ = live_blocks_ = block_bytes_ = 0;
        if (base_ != nullptr) init(base_, arena_bytes_);
    }

    // slack = 2^order - requested size summed over live blocks; free_bytes and
    // largest_free are whole free blocks (no headers). held_bytes is the
    // arena and its bitmap as the parent gave them, or the caller's buffer.
    allocator_stats stats() const noexcept {
        allocator_stats s;
        s.live_bytes = live_bytes_;
        s.live_blocks = live_blocks_;
        s.peak_bytes = peak_bytes_;
        s.held_bytes = held_bytes_;
        s.slack_bytes = block_bytes_ - live_bytes_;
        s.free_bytes = free_bytes_;
        s.largest_free = nonempty_ == 0 ? 0 : std::size_t{1} << (63 - std::countl_zero(nonempty_));
        return s;
    }

    // The order of the block that serves layout l: the least k with
    // 2^k >= max(size, align, 16). Greater than max_order when nothing could.
    static constexpr unsigned order_for(layout l) noexcept {
        std::size_t n = l.size() > l.align() ? l.size() : l.align();
        if (n > std::size_t{1} << max_order) return max_order + 1;
        if (n < min_block) n = min_block;
        return static_cast<unsigned>(std::bit_width(n - 1));
    }

    // The arena (empty until taken from the parent, or when the buffer was too small).
    std::span<std::byte> arena() const noexcept {
        return base_ == nullptr ? std::span<std::byte>{}
                                : std::span<std::byte>{reinterpret_cast<std::byte*>(base_), arena_bytes_};
    }

    // The number of free blocks of order k (walks that list; for tests and inspection).
    std::size_t free_blocks(unsigned k) const noexcept {
        if (k < min_order || k > top_order_ || base_ == nullptr) return 0;
        std::size_t n = 0;
        for (std::uint32_t u = heads_[k]; u != nil; u = node(u)->next) ++n;
        return n;
    }

private:
    // A free block's first bytes.
    struct free_node {
        std::uint32_t next;  // unit index of the next free block of this order, or nil
        std::uint32_t prev;  // unit index of the previous one, or nil at the head
        std::uint8_t order;  // this block's order (min_order..top_order_)
    };
    static_assert(sizeof(free_node) <= min_block);
    static constexpr std::uint32_t nil = ~std::uint32_t{0};

    static constexpr std::size_t bitmap_bytes(std::size_t arena) noexcept {
        const std::size_t bits = arena / min_block;
        return align_up((bits + 7) / 8, 8);
    }
    static constexpr std::uint32_t units(unsigned k) noexcept { return std::uint32_t{1} << (k - min_order); }

    layout arena_layout() const noexcept { return layout::from_unchecked(held_bytes_, arena_bytes_); }

    free_node* node(std::uint32_t u) const noexcept {
        return reinterpret_cast<free_node*>(base_ + std::size_t{u} * min_block);
    }
    std::uint32_t unit_of(const void* p) const noexcept {
        return static_cast<std::uint32_t>(static_cast<std::size_t>(static_cast<const char*>(p) - base_) / min_block);
    }
    bool is_free_start(std::uint32_t u) const noexcept { return (bitmap_[u / 64] >> (u % 64)) & 1; }

    void push(std::uint32_t u, unsigned k) noexcept {
        free_node* n = node(u);
        n->order = static_cast<std::uint8_t>(k);
        n->prev = nil;
        n->next = heads_[k];
        if (heads_[k] != nil) node(heads_[k])->prev = u;
        heads_[k] = u;
        nonempty_ |= std::uint64_t{1} << k;
        bitmap_[u / 64] |= std::uint64_t{1} << (u % 64);
        free_bytes_ += std::size_t{1} << k;
    }
    void remove(std::uint32_t u, unsigned k) noexcept {
        const free_node* n = node(u);
        if (n->prev != nil)
            node(n->prev)->next = n->next;
        else
            heads_[k] = n->next;
        if (n->next != nil) node(n->next)->prev = n->prev;
        if (heads_[k] == nil) nonempty_ &= ~(std::uint64_t{1} << k);
        bitmap_[u / 64] &= ~(std::uint64_t{1} << (u % 64));
        free_bytes_ -= std::size_t{1} << k;
    }

    // Debug builds: p must be a live block of order order_for(l) in the arena.
    void check_block([[maybe_unused]] const void* p, [[maybe_unused]] layout l,
                     [[maybe_unused]] const char* op) const noexcept {
#ifndef NDEBUG
        const char* why = nullptr;
        const unsigned k = order_for(l);
        if (!owns(p))
            why = " is not in this buddy's arena";
        else if (k > top_order_ ||
                 (static_cast<std::size_t>(static_cast<const char*>(p) - base_) & ((std::size_t{1} << k) - 1)) != 0)
            why = " does not start a block of the layout's order (a different layout than allocated?)";
        else if (is_free_start(unit_of(p)))
            why = " is already free (a double free?)";
        if (why == nullptr) return;
        detail::line_buffer<256> line;
        line.text("buddy::").text(op).text("(): block ").ptr(p).text(" of ").dec(l.size());
        line.text(" bytes aligned to ").dec(l.align()).text(why);
        fatal(line.view());
#endif
    }

    // The arena as one free block of the top order.
    void init(char* base, std::size_t arena) noexcept {
        base_ = base;
        arena_bytes_ = arena;
        top_order_ = static_cast<unsigned>(std::countr_zero(arena));
        const auto addr = reinterpret_cast<std::uintptr_t>(base);
        const std::size_t natural = addr & (~addr + 1);
        base_align_ = natural < arena ? natural : arena;
        bitmap_ = reinterpret_cast<std::uint64_t*>(base + arena);
        std::memset(bitmap_, 0, bitmap_bytes(arena));
        for (auto& h : heads_) h = nil;
        nonempty_ = 0;
        free_bytes_ = 0;
        push(0, top_order_);
    }

    // Takes the arena on first use; any other failure is a value.
    [[gnu::noinline]] memory_block allocate_slow(layout l) noexcept {
        if (base_ != nullptr || fixed_) return {};
        const std::optional<layout> al = layout::from(arena_bytes_ + bitmap_bytes(arena_bytes_), arena_bytes_);
        if (!al) return {};
        const memory_block m = parent_.allocate(*al);
        if (!m) return {};
        memory_ = m.ptr;
        held_bytes_ = al->size();  // what was asked, and what the parent gets back
        init(static_cast<char*>(m.ptr), arena_bytes_);
        return allocate(l);
    }

    // Re-orders the block at p from order_for(old) to order_for(new) in place
    // when the structure allows, else moves it.
    memory_block resize(void* p, layout old_layout, layout new_layout) noexcept {
        const unsigned k1 = order_for(new_layout);
        if (old_layout.size() == 0 || k1 > top_order_ || new_layout.align() > base_align_) {
            return resize_slow(p, old_layout, new_layout);
        }
        check_block(p, old_layout, "resize");
        const unsigned k0 = order_for(old_layout);
        const std::uint32_t u = unit_of(p);
        if (k1 > k0) {
            if ((u & (units(k1) - 1)) != 0) return resize_slow(p, old_layout, new_layout);
            for (unsigned j = k0; j < k1; ++j) {
                const std::uint32_t b = u + units(j);
                if (!is_free_start(b) || node(b)->order != j) return resize_slow(p, old_layout, new_layout);
            }
            for (unsigned j = k0; j < k1; ++j) remove(u + units(j), j);
        } else {
            // The freed right halves cannot merge: each one's buddy is (part of) this block.
            for (unsigned j = k1; j < k0; ++j) push(u + units(j), j);
        }
        block_bytes_ = block_bytes_ - (std::size_t{1} << k0) + (std::size_t{1} << k1);
        live_bytes_ = live_bytes_ - old_layout.size() + new_layout.size();
        if (live_bytes_ > peak_bytes_) peak_bytes_ = live_bytes_;
        return {p, std::size_t{1} << k1};
    }

    [[gnu::noinline]] memory_block resize_slow(void* p, layout old_layout, layout new_layout) noexcept {
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    [[no_unique_address]] Parent parent_;  // default-constructed; never called when fixed_
    bool fixed_ = false;                   // true: the arena is in the caller's buffer
    void* memory_ = nullptr;               // what the parent gave (arena then bitmap), nullptr before first use
    char* base_ = nullptr;                 // the arena, nullptr until set up
    std::size_t arena_bytes_ = 0;          // a power of two; every block lies in [base_, base_ + arena_bytes_)
    unsigned top_order_ = 0;               // log2(arena_bytes_) once set up; 0 before (everything goes slow)
    std::size_t base_align_ = 0;           // the largest power of two dividing base_, at most arena_bytes_
    std::uint64_t* bitmap_ = nullptr;      // arena_bytes_ / 16 bits right after the arena
    std::uint32_t heads_[64] = {};         // heads_[k]: a free block of order k, or nil
    std::uint64_t nonempty_ = 0;           // bit k set iff heads_[k] != nil
    std::size_t live_bytes_ = 0;           // sum of requested sizes of live blocks
    std::size_t live_blocks_ = 0;          // live blocks, zero-size ones included
    std::size_t peak_bytes_ = 0;           // >= every value live_bytes_ had
    std::size_t held_bytes_ = 0;           // from the parent (arena + bitmap) or the buffer's size
    std::size_t block_bytes_ = 0;          // sum of 2^order over live blocks (>= live_bytes_)
    std::size_t free_bytes_ = 0;           // sum of free block sizes
};

static_assert(allocator<buddy<>> && has_grow<buddy<>> && has_shrink<buddy<>> && has_owns<buddy<>> &&
              has_usable_size<buddy<>> && has_deallocate_all<buddy<>> && has_stats<buddy<>>);

}  // namespace heapkit
