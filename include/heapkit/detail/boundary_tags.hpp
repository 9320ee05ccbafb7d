// boundary_tag_heap: the block engine shared by heapkit::free_list and
// heapkit::tlsf. Variable-size blocks with boundary tags live in regions; the
// engine splits and coalesces them, and an Index (the placement policy) keeps
// the free ones and picks one for each request.
//
//   region: [ tag_region | block | block | ... | block | sentinel ]
//             48 B        ^ first block: prev_size == 0   ^ 16 B, size 0, never free
//
//   block:  [ prev_size | size|free ][ payload .............................. ]
//             8 B         8 B         16-aligned; a free block keeps its index
//             \_____ 16 B header __/  links (next_free, prev_free) in the first 16 B
//
// Both neighbours of a block are found in O(1): the next one at
// block + size, the previous one at block - prev_size (prev_size is the
// previous block's size, the "footer" of that block stored in this header).
//
// Invariants:
//   - every block is 16-aligned, its size a multiple of 16 and >= min_block (32);
//   - blocks tile their region exactly: first block at region + 48, each next
//     one at block + size, the last followed by the sentinel;
//   - block->prev_size equals the previous block's size (0 for the first);
//   - no two free blocks are adjacent (coalescing is immediate), so a freed
//     block merges with at most one block on each side;
//   - a block is in the Index if and only if its free bit is set;
//   - free_bytes_ is the sum of (size - 16) over free blocks; block_bytes_ the
//     sum of sizes of live blocks; held_bytes_ the sum of region bytes.
//
// Alignment above 16: a block is picked whose payload can be moved up to an
// aligned address leaving a front gap of 0 or >= min_block bytes; the gap
// becomes a free block of its own. Any power of two up to 2^40 works.
//
// Complexity (n = free blocks): allocate is the Index's find plus O(1)
// splitting; deallocate is O(1) coalescing plus the Index's insert; grow and
// shrink in place are O(1). owns() walks the regions; stats() asks the Index
// for its largest block (O(n) for list indexes, O(list) for classed ones).
//
// The Index concept: insert(tag_block*), remove(tag_block*),
// find(std::size_t need, std::size_t align) -> tag_block* (a free block for
// which tag_fits() holds, or nullptr), largest() -> the largest free block
// size (0 if none), clear(), and `static constexpr const char* name` (the
// allocator's name in diagnostics). Debug builds (no NDEBUG) check every
// pointer and layout given back to deallocate, grow and shrink.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace heapkit::detail {

// A block header. The two link fields exist only while the block is free:
// in a live block they are the first 16 bytes of the user's payload.
struct tag_block {
    static constexpr std::size_t header_bytes = 16;  // prev_size + size_flags
    static constexpr std::size_t granule = 16;       // block sizes and payloads are multiples of this
    static constexpr std::size_t min_block = 32;     // header + two links
    static constexpr std::size_t free_bit = 1;

    std::size_t prev_size;   // size of the physically previous block; 0 for the first block of a region
    std::size_t size_flags;  // size (multiple of 16, >= min_block; 0 for the sentinel) | free_bit
    tag_block* next_free;    // free blocks only: next in the Index's list (nullptr at the end)
    tag_block* prev_free;    // free blocks only: previous in the Index's list (nullptr at the head)

    std::size_t size() const noexcept { return size_flags & ~(granule - 1); }
    bool is_free() const noexcept { return (size_flags & free_bit) != 0; }
    char* bytes() noexcept { return reinterpret_cast<char*>(this); }
    void* payload() noexcept { return bytes() + header_bytes; }
    tag_block* next_phys() noexcept { return reinterpret_cast<tag_block*>(bytes() + size()); }
    tag_block* prev_phys() noexcept {
        return prev_size == 0 ? nullptr : reinterpret_cast<tag_block*>(bytes() - prev_size);
    }
    static tag_block* from_payload(const void* p) noexcept {
        return reinterpret_cast<tag_block*>(static_cast<char*>(const_cast<void*>(p)) - header_bytes);
    }
};

// Bytes between a block's payload and the aligned address the user gets:
// 0, or at least min_block so that the gap can be a free block of its own.
inline std::size_t tag_gap(const tag_block* b, std::size_t align) noexcept {
    if (align <= tag_block::granule) return 0;
    const auto p = reinterpret_cast<std::uintptr_t>(b) + tag_block::header_bytes;
    std::size_t gap = align_up(p, align) - p;
    if (gap != 0 && gap < tag_block::min_block) gap += align;
    return gap;
}

// True when free block b can serve a block of `need` bytes aligned to `align`.
inline bool tag_fits(const tag_block* b, std::size_t need, std::size_t align) noexcept {
    return b->size() >= tag_gap(b, align) + need;
}

// A size that any block of at least this size serves, whatever its address:
// the search key for indexes that do not look at addresses.
constexpr std::size_t tag_search_size(std::size_t need, std::size_t align) noexcept {
    return align <= tag_block::granule ? need : need + align + tag_block::min_block;
}

// The header of a region: one piece of memory from the parent or a caller.
struct alignas(16) tag_region {
    tag_region* next;   // next region (nullptr at the end)
    tag_region* prev;   // previous region (nullptr at the head)
    void* memory;       // what the parent or caller gave (this header sits at it, rounded up to 16)
    std::size_t bytes;  // bytes the parent or caller gave; counted in held_bytes
    char* end;          // 16-aligned end of the blocks; the sentinel is at end - 16
    bool from_parent;   // true: returned to the parent when released; false: the caller's buffer

    static constexpr std::size_t header_bytes = 48;
    tag_block* first() noexcept { return reinterpret_cast<tag_block*>(reinterpret_cast<char*>(this) + header_bytes); }
};
static_assert(sizeof(tag_region) <= tag_region::header_bytes && tag_region::header_bytes % 16 == 0);

template <class Index, class Parent>
class boundary_tag_heap {
public:
    static constexpr std::size_t header_bytes = tag_block::header_bytes;
    static constexpr std::size_t min_block = tag_block::min_block;
    // Region header plus sentinel: the bytes of a region no block can use.
    static constexpr std::size_t region_overhead = tag_region::header_bytes + tag_block::header_bytes;
    // The least a region taken from the parent holds (larger requests get a region of their own size).
    static constexpr std::size_t default_region_bytes = std::size_t{256} << 10;
    // The largest size and alignment served; larger requests fail.
    static constexpr std::size_t max_request = std::size_t{1} << 40;

    // Takes regions of at least default_region_bytes from a default-constructed parent.
    boundary_tag_heap() noexcept = default;
    // Takes regions of at least `region_bytes` from the parent.
    explicit boundary_tag_heap(std::size_t region_bytes) noexcept : region_bytes_(region_bytes) {}
    // Serves from `buffer` only and never calls the parent. A buffer too
    // small for one block (< 96 bytes) makes every non-empty request fail.
    explicit boundary_tag_heap(std::span<std::byte> buffer) noexcept : fixed_(true) { add_pool(buffer); }

    boundary_tag_heap(const boundary_tag_heap&) = delete;  // blocks point into this object's regions
    boundary_tag_heap& operator=(const boundary_tag_heap&) = delete;
    ~boundary_tag_heap() { release_regions(); }

    // Adds the caller's memory as one more region; false when it is too small.
    // The memory must outlive this allocator; it is never given to the parent.
    bool add_pool(std::span<std::byte> buffer) noexcept {
        return add_region(buffer.data(), buffer.size(), false) != nullptr;
    }

    memory_block allocate(layout l) noexcept {
        const std::size_t n = l.size();
        if (n == 0) {
            ++live_blocks_;
            return {dangling(l.align()), 0};
        }
        if (n > max_request || l.align() > max_request) return {};
        const std::size_t need = block_size_for(n);
        tag_block* b = index_.find(need, l.align());
        if (b == nullptr) return allocate_slow(l, need);
        return hand_out(place(b, need, l.align()), n);
    }

    void deallocate(void* p, layout l) noexcept {
        --live_blocks_;
        if (l.size() == 0) return;
        check_block(p, l, "deallocate");
        tag_block* b = tag_block::from_payload(p);
        live_bytes_ -= l.size();
        block_bytes_ -= b->size();
        release_block(b);
    }

    // In place when the block is already large enough or its right neighbour
    // is free and large enough; otherwise allocate, copy and free.
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        if (new_layout.size() > max_request || new_layout.align() > max_request) return {};
        if (old_layout.size() == 0 || !is_aligned(p, new_layout.align())) {
            return grow_slow(p, old_layout, new_layout);
        }
        check_block(p, old_layout, "grow");
        tag_block* b = tag_block::from_payload(p);
        const std::size_t need = block_size_for(new_layout.size());
        if (b->size() < need) {
            tag_block* next = b->next_phys();
            if (!next->is_free() || b->size() + next->size() < need) return grow_slow(p, old_layout, new_layout);
            remove_free(next);
            block_bytes_ += next->size();
            b->size_flags = b->size() + next->size();
            b->next_phys()->prev_size = b->size();
            split_tail(b, need);
        }
        resize_live(old_layout.size(), new_layout.size());
        return {p, b->size() - header_bytes};
    }

    // In place (the tail, if at least min_block, is freed and coalesced),
    // unless a larger alignment forces a move. Shrinking to 0 frees the
    // storage and returns the zero-size placeholder.
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (new_layout.size() == 0) {
            deallocate(p, old_layout);
            ++live_blocks_;
            return {dangling(new_layout.align()), 0};
        }
        if (!is_aligned(p, new_layout.align())) return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
        check_block(p, old_layout, "shrink");
        tag_block* b = tag_block::from_payload(p);
        split_tail(b, block_size_for(new_layout.size()));
        resize_live(old_layout.size(), new_layout.size());
        return {p, b->size() - header_bytes};
    }

    bool owns(const void* p) const noexcept {
        const char* c = static_cast<const char*>(p);
        for (tag_region* r = regions_; r != nullptr; r = r->next) {
            if (c >= r->first()->bytes() + header_bytes && c < r->end - header_bytes) return true;
        }
        return false;
    }

    std::size_t usable_size(const void* p, layout l) const noexcept {
        return l.size() == 0 ? 0 : tag_block::from_payload(p)->size() - header_bytes;
    }

    // Frees every block: regions from the parent go back to it, the caller's
    // buffers become one free block each.
    void deallocate_all() noexcept {
        tag_region* r = regions_;
        regions_ = nullptr;
        region_count_ = 0;
        index_.clear();
        live_bytes_ = live_blocks_ = block_bytes_ = free_bytes_ = held_bytes_ = 0;
        while (r != nullptr) {
            tag_region* next = r->next;
            if (r->from_parent) {
                parent_.deallocate(r->memory, layout::from_unchecked(r->bytes, tag_block::granule));
            } else {
                add_region(r->memory, r->bytes, false);
            }
            r = next;
        }
    }

    // live/peak/held as usual; slack = block sizes (headers, rounding, unsplit
    // tails) minus requested sizes; free_bytes and largest_free count payload
    // bytes of free blocks (what a request could get).
    allocator_stats stats() const noexcept {
        allocator_stats s;
        s.live_bytes = live_bytes_;
        s.live_blocks = live_blocks_;
        s.peak_bytes = peak_bytes_;
        s.held_bytes = held_bytes_;
        s.slack_bytes = block_bytes_ > live_bytes_ ? block_bytes_ - live_bytes_ : 0;
        s.free_bytes = free_bytes_;
        const std::size_t largest = index_.largest();
        s.largest_free = largest == 0 ? 0 : largest - header_bytes;
        return s;
    }

    // The whole block size a request of n bytes occupies (header included).
    static constexpr std::size_t block_size_for(std::size_t n) noexcept {
        const std::size_t b = align_up(n, tag_block::granule) + header_bytes;
        return b < min_block ? min_block : b;
    }

protected:
    Index index_;  // exactly the free blocks

private:
    // Debug builds: p must be a live block of this heap at least as large as l asks.
    void check_block([[maybe_unused]] const void* p, [[maybe_unused]] layout l,
                     [[maybe_unused]] const char* op) const noexcept {
#ifndef NDEBUG
        const char* why = nullptr;
        const tag_block* b = tag_block::from_payload(p);
        if (!is_aligned(p, tag_block::granule))
            why = " is not a block of this allocator (misaligned)";
        else if (b->is_free())
            why = " is already free (a double free?)";
        else if (b->size() < block_size_for(l.size()))
            why = " is smaller than the layout says (a different layout than allocated?)";
        if (why == nullptr) return;
        detail::line_buffer<256> line;
        line.text(Index::name).text("::").text(op).text("(): block ").ptr(p).text(" of ").dec(l.size());
        line.text(" bytes aligned to ").dec(l.align()).text(why);
        fatal(line.view());
#endif
    }

    memory_block hand_out(tag_block* b, std::size_t n) noexcept {
        live_bytes_ += n;
        ++live_blocks_;
        block_bytes_ += b->size();
        if (live_bytes_ > peak_bytes_) peak_bytes_ = live_bytes_;
        return {b->payload(), b->size() - header_bytes};
    }

    void resize_live(std::size_t old_size, std::size_t new_size) noexcept {
        live_bytes_ = live_bytes_ - old_size + new_size;
        if (live_bytes_ > peak_bytes_) peak_bytes_ = live_bytes_;
    }

    void insert_free(tag_block* b) noexcept {
        b->size_flags |= tag_block::free_bit;
        free_bytes_ += b->size() - header_bytes;
        index_.insert(b);
    }
    void remove_free(tag_block* b) noexcept {
        index_.remove(b);
        free_bytes_ -= b->size() - header_bytes;
        b->size_flags &= ~tag_block::free_bit;
    }

    // Takes free block b (tag_fits(b, need, align) holds) for a request:
    // splits off the alignment gap in front and a tail of >= min_block behind.
    // Neither part needs coalescing: b's neighbours are live (invariant).
    tag_block* place(tag_block* b, std::size_t need, std::size_t align) noexcept {
        remove_free(b);
        const std::size_t gap = tag_gap(b, align);
        if (gap != 0) {
            auto* a = reinterpret_cast<tag_block*>(b->bytes() + gap);
            a->prev_size = gap;
            a->size_flags = b->size() - gap;
            a->next_phys()->prev_size = a->size();
            b->size_flags = gap;
            insert_free(b);
            b = a;
        }
        const std::size_t rest = b->size() - need;
        if (rest >= min_block) {
            auto* t = reinterpret_cast<tag_block*>(b->bytes() + need);
            t->prev_size = need;
            t->size_flags = rest;
            t->next_phys()->prev_size = rest;
            b->size_flags = need;
            insert_free(t);
        }
        return b;
    }

    // Cuts live block b down to `need` bytes when the rest is a block of its
    // own, and frees that rest (coalescing it with a free right neighbour).
    void split_tail(tag_block* b, std::size_t need) noexcept {
        const std::size_t rest = b->size() - need;
        if (rest < min_block) return;
        auto* t = reinterpret_cast<tag_block*>(b->bytes() + need);
        t->prev_size = need;
        t->size_flags = rest;
        t->next_phys()->prev_size = rest;
        b->size_flags = need;
        block_bytes_ -= rest;
        release_block(t);
    }

    // Makes block b free: merges it with free neighbours, then gives an empty
    // region back to the parent or files the block in the Index.
    void release_block(tag_block* b) noexcept {
        std::size_t size = b->size();
        tag_block* next = b->next_phys();
        if (next->is_free()) {
            remove_free(next);
            size += next->size();
        }
        tag_block* prev = b->prev_phys();
        if (prev != nullptr && prev->is_free()) {
            remove_free(prev);
            size += prev->size();
            b = prev;
        }
        b->size_flags = size;
        b->next_phys()->prev_size = size;
        if (b->prev_size == 0 && b->next_phys()->size() == 0 && release_region_slow(b)) return;
        insert_free(b);
    }

    // b spans a whole region. Returns it to the parent when it came from there
    // and is not the last ordinary region (one region stays to avoid mapping
    // and unmapping on every allocate/free pair).
    [[gnu::noinline]] bool release_region_slow(tag_block* b) noexcept {
        auto* r = reinterpret_cast<tag_region*>(b->bytes() - tag_region::header_bytes);
        if (!r->from_parent || (region_count_ == 1 && r->bytes <= region_bytes_)) return false;
        unlink(r);
        held_bytes_ -= r->bytes;
        parent_.deallocate(r->memory, layout::from_unchecked(r->bytes, tag_block::granule));
        return true;
    }

    // No free block fits: take a region from the parent large enough for the
    // request at its alignment, wherever the aligned address falls.
    [[gnu::noinline]] memory_block allocate_slow(layout l, std::size_t need) noexcept {
        if (fixed_) return {};
        std::size_t bytes = region_overhead + tag_search_size(need, l.align()) + tag_block::granule;
        if (bytes < region_bytes_) bytes = region_bytes_;
        const std::optional<layout> rl = layout::from(bytes, tag_block::granule);
        if (!rl) return {};
        const memory_block m = parent_.allocate(*rl);
        if (!m) return {};
        // Only the size asked for is used: it is what the parent gets back.
        tag_block* b = add_region(m.ptr, rl->size(), true);
        if (b == nullptr || !tag_fits(b, need, l.align())) {  // only with a parent that lies about sizes
            if (b != nullptr) {
                remove_free(b);
                unlink(reinterpret_cast<tag_region*>(b->bytes() - tag_region::header_bytes));
                held_bytes_ -= rl->size();
            }
            parent_.deallocate(m.ptr, *rl);
            return {};
        }
        return hand_out(place(b, need, l.align()), l.size());
    }

    [[gnu::noinline]] memory_block grow_slow(void* p, layout old_layout, layout new_layout) noexcept {
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    // Lays out a region over [memory, memory + bytes) holding one free block;
    // returns that block, or nullptr when the memory is too small.
    tag_block* add_region(void* memory, std::size_t bytes, bool from_parent) noexcept {
        const auto lo = reinterpret_cast<std::uintptr_t>(memory);
        const std::uintptr_t start = align_up(lo, tag_block::granule);
        const std::size_t usable = bytes > max_region ? max_region : bytes;
        const std::uintptr_t end = align_down(lo + usable, tag_block::granule);
        if (end < start || end - start < region_overhead + min_block) return nullptr;
        auto* r = reinterpret_cast<tag_region*>(start);
        r->memory = memory;
        r->bytes = bytes;
        r->end = reinterpret_cast<char*>(end);
        r->from_parent = from_parent;
        r->prev = nullptr;
        r->next = regions_;
        if (regions_ != nullptr) regions_->prev = r;
        regions_ = r;
        ++region_count_;
        held_bytes_ += bytes;
        tag_block* b = r->first();
        auto* sentinel = reinterpret_cast<tag_block*>(r->end - header_bytes);
        b->prev_size = 0;
        b->size_flags = static_cast<std::size_t>(sentinel->bytes() - b->bytes());
        sentinel->prev_size = b->size();
        sentinel->size_flags = 0;
        insert_free(b);
        return b;
    }

    void unlink(tag_region* r) noexcept {
        if (r->prev != nullptr)
            r->prev->next = r->next;
        else
            regions_ = r->next;
        if (r->next != nullptr) r->next->prev = r->prev;
        --region_count_;
    }

    void release_regions() noexcept {
        for (tag_region* r = regions_; r != nullptr;) {
            tag_region* next = r->next;
            if (r->from_parent) parent_.deallocate(r->memory, layout::from_unchecked(r->bytes, tag_block::granule));
            r = next;
        }
        regions_ = nullptr;
        region_count_ = 0;
    }

    // The most of one region that is used: keeps every block size below 2^42.
    static constexpr std::size_t max_region = std::size_t{1} << 42;

    [[no_unique_address]] Parent parent_;              // default-constructed; never called when fixed_
    tag_region* regions_ = nullptr;                    // every region, newest first
    std::size_t region_count_ = 0;                     // regions in regions_
    std::size_t region_bytes_ = default_region_bytes;  // least size of a region from the parent
    bool fixed_ = false;                               // true: serve from the caller's buffers only
    std::size_t live_bytes_ = 0;                       // sum of requested sizes of live blocks
    std::size_t live_blocks_ = 0;                      // live blocks, zero-size ones included
    std::size_t peak_bytes_ = 0;                       // >= every value live_bytes_ had
    std::size_t held_bytes_ = 0;                       // sum of region bytes
    std::size_t block_bytes_ = 0;                      // sum of block sizes of live blocks (>= live_bytes_)
    std::size_t free_bytes_ = 0;                       // sum of (size - header) over free blocks
};

}  // namespace heapkit::detail
