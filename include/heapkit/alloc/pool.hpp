// heapkit::pool<Parent>: fixed-size blocks from chunks, with an intrusive free
// list threaded through the free blocks.
//
// Every block has the same size (the stride: the requested block size rounded
// up to the block alignment, at least a pointer) and the same alignment. A
// chunk comes from Parent (default heapkit::pages) or is the caller's buffer;
// its blocks are handed out in two ways:
//
//   free_ ──► [block] ──► [block] ──► nullptr      freed blocks, LIFO (the next pointer lives in the block)
//
//   chunk: [ used | used | free | used | carve_ ........ carve_end_ | pad | footer ]
//                                        never used yet (carved lazily)   | prev ──► older chunk ──► ...
//
// allocate pops the free list (the fast path); when it is empty the slow path
// carves the next never-used block of the newest chunk, and only when that is
// exhausted asks the parent for a new chunk. A chunk is never threaded onto
// the free list eagerly, so a new chunk costs O(1) and touches one page.
//
// Rule for requests: a request with 0 < size <= block_size() and align <=
// block_align() gets a block (the returned size is block_size()); any other
// non-zero request fails with {nullptr, 0}. A zero-size request always gets
// heapkit::dangling(align) and uses no block.
//
// Invariants:
//   - every block lies in a chunk, at base + k * stride_, aligned to align_;
//   - a carved block is either live or on the free list: carved_ == used_blocks_ + free-list length;
//   - carve_ <= carve_end_, both in the newest chunk (or both null), and
//     carve_end_ - carve_ is a multiple of stride_;
//   - held_ is the sum of chunk sizes (the buffer's size for a fixed buffer).
//
// Complexity: allocate and deallocate O(1) both ways (fast path: a compare,
// a load and a store each, plus two counter updates); a new chunk is one
// parent call. owns and deallocate_all are O(chunks); with geometric growth
// chunks number O(log(bytes held)) until max_chunk_bytes is reached.
//
// Figures: live_bytes is the sum of requested sizes; slack_bytes the rest of
// the live blocks (block_size() - requested size, each); free_bytes the free
// list plus the blocks still to be carved; largest_free one block.
#pragma once

#include <heapkit/alloc/pages.hpp>
#include <heapkit/allocator.hpp>
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

namespace heapkit {

// How a pool grows.
struct pool_options {
    std::size_t first_chunk_bytes = 4096;    // bytes asked for the first chunk (raised to fit one block)
    bool geometric = true;                   // each later chunk twice the one before ...
    std::size_t max_chunk_bytes = 1u << 20;  // ... up to this; false: every chunk is first_chunk_bytes
};

template <allocator Parent = pages>
class pool {
public:
    // A pool of blocks of at least `block_size` bytes aligned to `block_align`
    // (a power of two), drawing chunks from Parent.
    explicit pool(std::size_t block_size, std::size_t block_align = alignof(std::max_align_t),
                  pool_options options = {}) noexcept
        : pool(block_size, block_align, options, false) {}

    // A pool over the caller's buffer: as many blocks as fit, never a parent call.
    pool(std::span<std::byte> buffer, std::size_t block_size,
         std::size_t block_align = alignof(std::max_align_t)) noexcept
        : pool(block_size, block_align, {}, true) {
        held_ = buffer.size();
        if (buffer.size() < sizeof(chunk_footer) + alignof(chunk_footer)) return;
        const auto lo = reinterpret_cast<std::uintptr_t>(buffer.data());
        const std::uintptr_t top = align_down(lo + buffer.size() - sizeof(chunk_footer), alignof(chunk_footer));
        const std::uintptr_t first = align_up(lo, align_);
        if (first > top) return;
        auto* c = new (reinterpret_cast<void*>(top)) chunk_footer{nullptr, buffer.size(), buffer.data()};
        start_carving(c, first);
    }

    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;
    ~pool() { release_chunks(); }

    std::size_t block_size() const noexcept { return stride_; }
    std::size_t block_align() const noexcept { return align_; }
    Parent& parent() noexcept { return parent_; }
    const Parent& parent() const noexcept { return parent_; }

    // True when `l` is served by this pool's blocks (see the rule above).
    bool fits(layout l) const noexcept { return l.size() - 1 < stride_ && l.align() <= align_; }

    memory_block allocate(layout l) noexcept {
        node* n = free_;
        if (fits(l) && n != nullptr) [[likely]] {
            free_ = n->next;
            live_bytes_ += l.size();
            ++used_blocks_;
            return {n, stride_};
        }
        return allocate_slow(l);
    }

    void deallocate(void* p, layout l) noexcept {
        if (l.size() == 0) {
            --zero_blocks_;
            return;
        }
#ifndef NDEBUG
        check_block(p, l, "deallocate");
#endif
        peak_bytes_ = std::max(peak_bytes_, live_bytes_);
        live_bytes_ -= l.size();
        --used_blocks_;
        node* n = static_cast<node*>(p);
        n->next = free_;
        free_ = n;
    }

    // Grows within the block (the pointer is kept) when the new layout fits;
    // fails as a value otherwise (no block of this pool is bigger).
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        if (old_layout.size() != 0 && fits(new_layout)) {
            live_bytes_ += new_layout.size() - old_layout.size();
            return {p, stride_};
        }
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    // Shrinks within the block (the pointer is kept); shrinking to size 0 frees the block.
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (new_layout.size() != 0 && new_layout.align() <= align_) {
            peak_bytes_ = std::max(peak_bytes_, live_bytes_);
            live_bytes_ -= old_layout.size() - new_layout.size();
            return {p, stride_};
        }
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    std::size_t usable_size(const void*, layout l) const noexcept { return l.size() == 0 ? 0 : stride_; }

    // True when p lies in the blocks area of one of the chunks (freed or not).
    bool owns(const void* p) const noexcept {
        const auto* b = static_cast<const std::byte*>(p);
        for (const chunk_footer* c = chunks_; c != nullptr; c = c->prev) {
            if (b >= c->base && b < reinterpret_cast<const std::byte*>(c)) return true;
        }
        return false;
    }

    // Frees every block at once: chunks go back to the parent (a fixed buffer
    // is kept and will be carved again from its start).
    void deallocate_all() noexcept {
        peak_bytes_ = std::max(peak_bytes_, live_bytes_);
        free_ = nullptr;
        live_bytes_ = used_blocks_ = zero_blocks_ = carved_ = 0;
        if (fixed_) {
            if (chunks_ != nullptr)
                start_carving(chunks_, align_up(reinterpret_cast<std::uintptr_t>(chunks_->base), align_));
            return;
        }
        release_chunks();
        next_chunk_bytes_ = options_.first_chunk_bytes;
    }

    allocator_stats stats() const noexcept {
        allocator_stats s;
        s.live_bytes = live_bytes_;
        s.live_blocks = used_blocks_ + zero_blocks_;
        s.peak_bytes = std::max(peak_bytes_, live_bytes_);
        s.held_bytes = held_;
        s.slack_bytes = used_blocks_ * stride_ - live_bytes_;
        const std::size_t uncarved = static_cast<std::size_t>(carve_end_ - carve_) / stride_;
        s.free_bytes = (carved_ - used_blocks_ + uncarved) * stride_;
        s.largest_free = s.free_bytes != 0 ? stride_ : 0;
        return s;
    }

    // Chunks currently held (for tests and tools).
    std::size_t chunk_count() const noexcept {
        std::size_t n = 0;
        for (const chunk_footer* c = chunks_; c != nullptr; c = c->prev) ++n;
        return n;
    }

private:
    struct node {
        node* next;  // the next free block, nullptr at the end
    };

    // Sits at the top of every chunk.
    struct chunk_footer {
        chunk_footer* prev;  // the chunk made before this one, nullptr for the oldest
        std::size_t size;    // bytes of the chunk, footer included (what the parent is given back)
        std::byte* base;     // first byte of the chunk; blocks lie in [base, this)
    };

    static constexpr std::size_t chunk_granule = 4096;  // chunk sizes asked from the parent are multiples of it

    pool(std::size_t block_size, std::size_t block_align, pool_options options, bool fixed) noexcept
        : align_(std::max(block_align, alignof(node))),
          stride_(stride_for(block_size, block_align)),
          options_(options),
          next_chunk_bytes_(options.first_chunk_bytes),
          fixed_(fixed) {}

    // The block stride: block_size rounded up to the alignment (at least a
    // node). A size or alignment no layout can have (a non-power-of-two
    // alignment, a size that overflows when rounded) gives a pool that has no
    // chunk big enough and fails every non-empty request with a value.
    static std::size_t stride_for(std::size_t block_size, std::size_t block_align) noexcept {
        const std::size_t align = std::max(block_align, alignof(node));
        if (!is_power_of_two(block_align) || block_size > layout::max_size_for(align)) return layout::max_size_for(1);
        return align_up(std::max(block_size, sizeof(node)), align);
    }

    void start_carving(chunk_footer* c, std::uintptr_t first) noexcept {
        const std::size_t blocks = (reinterpret_cast<std::uintptr_t>(c) - first) / stride_;
        chunks_ = c;
        carve_ = reinterpret_cast<std::byte*>(first);
        carve_end_ = carve_ + blocks * stride_;
    }

    void release_chunks() noexcept {
        if (fixed_) return;
        while (chunks_ != nullptr) {
            chunk_footer* prev = chunks_->prev;
            held_ -= chunks_->size;
            parent_.deallocate(chunks_->base, layout::from_unchecked(chunks_->size, chunk_align()));
            chunks_ = prev;
        }
        carve_ = carve_end_ = nullptr;
    }

    std::size_t chunk_align() const noexcept { return std::max(align_, alignof(chunk_footer)); }

    // Zero-size and misfit requests, and the empty free list: carve a block, or add a chunk first.
    [[gnu::noinline]] memory_block allocate_slow(layout l) noexcept {
        if (l.size() == 0) {
            ++zero_blocks_;
            return {dangling(l.align()), 0};
        }
        if (!fits(l)) return {};
        if (carve_ == carve_end_ && !add_chunk()) return {};
        void* p = carve_;
        carve_ += stride_;
        ++carved_;
        ++used_blocks_;
        live_bytes_ += l.size();
        return {p, stride_};
    }

    bool add_chunk() noexcept {
        if (fixed_) return false;
        const std::size_t align = chunk_align();
        const std::size_t cap = align_down(layout::max_size_for(align), chunk_granule);
        constexpr std::size_t overhead = sizeof(chunk_footer) + alignof(chunk_footer);
        if (stride_ > cap - overhead) return false;
        const std::size_t needed = align_up(stride_ + overhead, chunk_granule);
        const std::size_t size = std::max(align_up(std::min(next_chunk_bytes_, cap), chunk_granule), needed);
        const memory_block b = parent_.allocate(layout::from_unchecked(size, align));
        if (!b) return false;
        auto* base = static_cast<std::byte*>(b.ptr);
        const std::uintptr_t top =
            align_down(reinterpret_cast<std::uintptr_t>(base) + size - sizeof(chunk_footer), alignof(chunk_footer));
        // Only the size asked for is used: it is what the parent gets back.
        auto* c = new (reinterpret_cast<void*>(top)) chunk_footer{chunks_, size, base};
        held_ += size;
        start_carving(c, reinterpret_cast<std::uintptr_t>(base));
        if (options_.geometric) {
            const std::size_t ceiling = std::max(options_.max_chunk_bytes, options_.first_chunk_bytes);
            next_chunk_bytes_ = size >= ceiling / 2 ? ceiling : 2 * size;
        }
        return true;
    }

#ifndef NDEBUG
    void check_block(const void* p, layout l, const char* op) const noexcept {
        if (l.size() > stride_ || l.align() > align_ || !is_aligned(p, align_)) {
            detail::line_buffer<256> line;
            line.text("pool::")
                .text(op)
                .text("(): block ")
                .ptr(p)
                .text(" of ")
                .dec(l.size())
                .text(" bytes aligned to ")
                .dec(l.align())
                .text(" is not a block of this pool (blocks of ")
                .dec(stride_)
                .text(" bytes aligned to ")
                .dec(align_)
                .text(")");
            fatal(line.view());
        }
    }
#endif

    node* free_ = nullptr;            // freed blocks, most recent first; each is a carved block that is not live
    std::byte* carve_ = nullptr;      // the next never-used block of the newest chunk; <= carve_end_
    std::byte* carve_end_ = nullptr;  // end of the whole blocks of the newest chunk
    std::size_t align_;               // block alignment, a power of two >= alignof(node)
    std::size_t stride_;              // block size: a multiple of align_, >= sizeof(node)
    std::size_t live_bytes_ = 0;      // sum of the requested sizes of live blocks
    std::size_t used_blocks_ = 0;     // live blocks (zero-size ones excluded)
    std::size_t zero_blocks_ = 0;     // live zero-size blocks (dangling pointers)
    std::size_t peak_bytes_ = 0;      // max of live_bytes_ at every decrease (stats adds the current)
    std::size_t carved_ = 0;          // blocks carved since the last deallocate_all; == used + free-list length
    std::size_t held_ = 0;            // sum of chunk sizes (a fixed buffer: its size)
    chunk_footer* chunks_ = nullptr;  // the newest chunk, nullptr when there is none
    pool_options options_;
    std::size_t next_chunk_bytes_;  // bytes to ask for the next chunk
    bool fixed_;                    // the one chunk is a caller's buffer: never call the parent
    [[no_unique_address]] Parent parent_{};
};

static_assert(allocator<pool<>> && has_grow<pool<>> && has_shrink<pool<>> && has_owns<pool<>> &&
              has_deallocate_all<pool<>> && has_stats<pool<>>);

}  // namespace heapkit
