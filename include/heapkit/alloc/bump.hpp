// heapkit::bump<Parent>: a bump arena (the bumpalo of heapkit). Blocks are cut
// from the current chunk by moving a pointer; freeing is a no-op except for the
// newest block, and everything is freed at once by reset() or rewind(mark).
//
// Chunks come from Parent (default heapkit::pages), each at least twice the
// size of the one before and big enough for the request that asked for it, or
// from one caller-supplied buffer (then Parent is never called). Every chunk
// keeps its bookkeeping in a footer at its top, so the arena allocates nothing
// besides its chunks:
//
//   current chunk (newest)                        an older chunk
//   base      floor_   ptr_           end_        base           ptr
//   [ blocks ...........|  free ......| footer ]  [ blocks .....| tail | footer ]
//                                       prev ─────────────────────────────► prev ──► ... ──► nullptr
//
// The current chunk's bump pointer lives in the arena (ptr_, end_) so the fast
// path touches no footer; an older chunk's footer holds the pointer it had when
// it was retired (its `tail` stays unused until reset or rewind).
//
// Upward, not downward: bumpalo bumps downward because aligning down is one
// AND where aligning up is an ADD and an AND. Bumping up costs that one
// instruction but lets the newest block grow in place without moving, which
// is what a growing vector or string does all the time; heapkit takes that.
//
// Invariants:
//   - with a current chunk: base <= floor_ <= ptr_ <= end_ (end_ is its footer);
//     without one: ptr_ == end_ == floor_ == no_chunk (2^62, an address no
//     chunk has): a zero-size request gets it, any other takes the slow path;
//   - chunk sizes grow along the list: each chunk from the parent is at least
//     twice the one before it, unless set_limit() capped it;
//   - held_ is the sum of the chunk sizes (the buffer's size for a fixed
//     buffer) and, with a parent, never exceeds limit_ when a chunk is added;
//   - blocks that start below floor_ predate the latest checkpoint: they are
//     never grown in place nor given back, so a rewind cannot cut through them;
//   - ptr_ - origin_ is the bytes used in all the chunks (the sum of chunks()'s
//     `used`), waste_ the part of them that is not live, so
//     live_bytes = ptr_ - origin_ - waste_ (see Accounting).
//
// Accounting: the fast path keeps no byte count. It bumps ptr_ and counts the
// block; bytes are derived from the positions. Every byte used in a chunk is
// either in a live block or waste: alignment padding (the fast path's one
// rarely taken branch), blocks freed out of order and tails given up by an
// in-place shrink that was not of the newest block. Giving back the newest
// block, growing it and shrinking it move ptr_, which moves the used bytes by
// the same amount as the live ones, so waste_ does not change. The unused tail
// of a retired chunk is not used (chunks() stops at its `ptr`), so it is not
// waste either. origin_ is the current chunk's base minus the bytes used in
// the older chunks (wrapping arithmetic), so the used bytes are one
// subtraction away and no footer is read; it changes only when the current
// chunk does.
//
// Complexity: allocate O(1) (fast path: an add, an and, a compare, a store, a
// counter increment and a rarely taken branch for padding; the slow path adds
// one parent call); deallocate, grow, shrink, checkpoint and stats O(1);
// rewind and reset O(chunks released) with one parent call per chunk; owns
// and chunks() O(chunks). Chunks number O(log(bytes held)) thanks to the
// geometric growth.
//
// Zero-size requests get a pointer into the current chunk (aligned, no bytes),
// no_chunk when there is no chunk, or heapkit::dangling(align) when neither is
// aligned enough.
//
// Figures: live_bytes/live_blocks count blocks not yet freed; slack_bytes is everything
// consumed in the chunks that is not live (waste_: alignment padding, and blocks freed
// out of order, which the arena cannot reuse until reset or rewind);
// free_bytes = largest_free = what the current chunk still offers. What
// remains of held_bytes is footers and the unused tails of older chunks.
// peak_bytes is the largest live_bytes seen: it is noted before every
// operation that lowers live_bytes.
#pragma once

#include <heapkit/alloc/pages.hpp>
#include <heapkit/allocator.hpp>
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <span>

namespace heapkit {

// The tag of bump::reset(keep_largest): keep the largest chunk for reuse.
struct keep_largest_t {
    explicit keep_largest_t() = default;
};
inline constexpr keep_largest_t keep_largest{};

template <allocator Parent = pages>
class bump {
    struct chunk_footer;

public:
    static constexpr std::size_t default_first_chunk = 4096;
    static constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();
    // ptr_, end_ and floor_ when there is no chunk: aligned to 2^62, never a chunk's address.
    static constexpr std::uintptr_t no_chunk = std::uintptr_t{1} << 62;

    // One chunk as chunks() shows it: its blocks area and how much of it is used.
    struct chunk_info {
        std::byte* ptr;    // first byte of the chunk's blocks area
        std::size_t size;  // bytes in the blocks area (the footer excluded)
        std::size_t used;  // bytes bumped past so far, <= size
    };

    // A position of the arena, from checkpoint(), for rewind().
    class mark {
    public:
        mark() = default;

    private:
        friend class bump;
        chunk_footer* chunk_ = nullptr;    // the current chunk at the checkpoint (nullptr: none)
        std::uintptr_t ptr_ = no_chunk;    // the bump pointer at the checkpoint
        std::uintptr_t floor_ = no_chunk;  // the floor before the checkpoint (restored by rewind)
        std::size_t used_ = 0;             // bytes used in the chunks at the checkpoint (ptr_ - origin_)
        std::size_t waste_ = 0;            // waste and live blocks at the checkpoint (restored by rewind)
        std::size_t live_blocks_ = 0;
    };

    // A nested sub-arena: takes a checkpoint when made and rewinds to it when
    // destroyed. Scopes nest like blocks of code. It is itself an allocator.
    class scope {
    public:
        explicit scope(bump& arena) noexcept : arena_(arena), mark_(arena.checkpoint()) {}
        ~scope() { arena_.rewind(mark_); }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

        bump& arena() const noexcept { return arena_; }
        memory_block allocate(layout l) noexcept { return arena_.allocate(l); }
        void deallocate(void* p, layout l) noexcept { arena_.deallocate(p, l); }
        memory_block grow(void* p, layout o, layout n) noexcept { return arena_.grow(p, o, n); }
        memory_block shrink(void* p, layout o, layout n) noexcept { return arena_.shrink(p, o, n); }

    private:
        bump& arena_;
        mark mark_;  // where the arena goes back to
    };

    // The chunks, newest first: `for (auto c : arena.chunks())`.
    class chunk_range {
    public:
        class iterator {
        public:
            chunk_info operator*() const noexcept {
                auto* base = c_->base;
                const auto* top = reinterpret_cast<const std::byte*>(c_);
                const auto* at = c_ == current_ ? reinterpret_cast<const std::byte*>(ptr_) : c_->ptr;
                return {base, static_cast<std::size_t>(top - base), static_cast<std::size_t>(at - base)};
            }
            iterator& operator++() noexcept {
                c_ = c_->prev;
                return *this;
            }
            friend bool operator==(const iterator& x, const iterator& y) noexcept { return x.c_ == y.c_; }

        private:
            friend class chunk_range;
            iterator(const chunk_footer* c, const chunk_footer* current, std::uintptr_t ptr) noexcept
                : c_(c), current_(current), ptr_(ptr) {}
            const chunk_footer* c_;
            const chunk_footer* current_;
            std::uintptr_t ptr_;
        };
        iterator begin() const noexcept { return {current_, current_, ptr_}; }
        iterator end() const noexcept { return {nullptr, current_, ptr_}; }

    private:
        friend class bump;
        chunk_range(const chunk_footer* current, std::uintptr_t ptr) noexcept : current_(current), ptr_(ptr) {}
        const chunk_footer* current_;
        std::uintptr_t ptr_;
    };

    // An arena over Parent; the first chunk holds `first_chunk` bytes (a page by default).
    constexpr bump() noexcept = default;
    constexpr explicit bump(std::size_t first_chunk) noexcept : first_chunk_(first_chunk) {}

    // An arena over the caller's buffer: it never calls Parent and never grows.
    // A buffer too small for the footer gives an arena where every request fails.
    explicit bump(std::span<std::byte> buffer) noexcept : fixed_(true) {
        held_ = buffer.size();
        const auto lo = reinterpret_cast<std::uintptr_t>(buffer.data());
        const std::uintptr_t hi = lo + buffer.size();
        if (buffer.size() < sizeof(chunk_footer) + alignof(chunk_footer)) return;
        const std::uintptr_t top = align_down(hi - sizeof(chunk_footer), alignof(chunk_footer));
        auto* c = new (reinterpret_cast<void*>(top)) chunk_footer{buffer.data(), buffer.size(), 1, nullptr, nullptr};
        make_current(c, lo, 0);
    }

    bump(const bump&) = delete;
    bump& operator=(const bump&) = delete;
    ~bump() { release_chunks_after(nullptr); }

    Parent& parent() noexcept { return parent_; }
    const Parent& parent() const noexcept { return parent_; }
    bool is_fixed_buffer() const noexcept { return fixed_; }

    // ---- allocation ----

    memory_block allocate(layout l) noexcept {
        // No overflow: ptr_ <= 2^62, and align <= 2^62 unless the size is 0
        // (size <= PTRDIFF_MAX - (align - 1) by layout's invariant).
        const std::uintptr_t start = align_up(ptr_, l.align());
        const std::uintptr_t stop = start + l.size();
        if (stop <= end_) [[likely]] {
            if (start != ptr_) [[unlikely]]
                waste_ += start - ptr_;  // alignment padding
            ptr_ = stop;
            ++live_blocks_;
            return {reinterpret_cast<void*>(start), l.size()};
        }
        return allocate_slow(l);
    }

    // Frees the block. Only the newest block gives its bytes back (the next
    // allocation reuses them); any other block waits for reset or rewind.
    void deallocate(void* p, layout l) noexcept {
        note_peak();
        --live_blocks_;
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        if (at + l.size() == ptr_ && at >= floor_) {
            ptr_ = at;
        } else {
            waste_ += l.size();
        }
    }

    // Grows in place when p is the newest block and the chunk has room (the
    // pointer is kept); otherwise moves it to a new block.
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        if (at + old_layout.size() == ptr_ && at >= floor_ && is_aligned(p, new_layout.align()) &&
            new_layout.size() - old_layout.size() <= end_ - ptr_) {
            ptr_ = at + new_layout.size();
            return {p, new_layout.size()};
        }
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    // Shrinks in place (the pointer is kept); the newest block gives its tail back.
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (!is_aligned(p, new_layout.align())) return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
        note_peak();
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        if (at + old_layout.size() == ptr_ && at >= floor_) {
            ptr_ = at + new_layout.size();
        } else {
            waste_ += old_layout.size() - new_layout.size();
        }
        return {p, new_layout.size()};
    }

    // True when p lies in one of the chunks (freed or not).
    bool owns(const void* p) const noexcept {
        const auto* b = static_cast<const std::byte*>(p);
        for (const chunk_footer* c = current_; c != nullptr; c = c->prev) {
            if (b >= c->base && b < reinterpret_cast<const std::byte*>(c)) return true;
        }
        return false;
    }

    // ---- whole-arena operations ----

    // Frees every block and returns every chunk to the parent (a fixed buffer
    // is kept and emptied). Invalidates every mark.
    void reset() noexcept {
        note_peak();
        if (fixed_) {
            if (current_ != nullptr) make_current(current_, reinterpret_cast<std::uintptr_t>(current_->base), 0);
        } else {
            release_chunks_after(nullptr);
        }
        waste_ = 0;
        live_blocks_ = 0;
    }

    // Frees every block and returns every chunk but the largest, which is kept
    // (empty) for the allocations to come. Invalidates every mark.
    void reset(keep_largest_t) noexcept {
        note_peak();
        chunk_footer* largest = current_;
        for (chunk_footer* c = current_; c != nullptr; c = c->prev) {
            if (c->size > largest->size) largest = c;
        }
        chunk_footer* c = current_;
        while (c != nullptr) {
            chunk_footer* prev = c->prev;
            if (c != largest) release(c);
            c = prev;
        }
        if (largest != nullptr) {
            largest->prev = nullptr;
            make_current(largest, reinterpret_cast<std::uintptr_t>(largest->base), 0);
        }
        waste_ = 0;
        live_blocks_ = 0;
    }

    void deallocate_all() noexcept { reset(); }

    // The current position. Blocks allocated before it are protected from
    // in-place growth and give-back until the mark is rewound.
    mark checkpoint() noexcept {
        mark m;
        m.chunk_ = current_;
        m.ptr_ = ptr_;
        m.floor_ = floor_;
        m.used_ = used();
        m.waste_ = waste_;
        m.live_blocks_ = live_blocks_;
        if (current_ != nullptr) floor_ = ptr_;
        return m;
    }

    // Frees every block allocated after `m` (a block grown after `m` counts as
    // allocated after it) and returns the chunks added since to the parent.
    // Marks are rewound in the reverse order they were taken; rewinding to `m`
    // invalidates the marks taken after it. live_bytes and live_blocks go back
    // to their values at `m`: a block older than `m` that was freed in between
    // counts as live again until reset (its bytes were not reusable anyway).
    // Keeping it freed would need to know, for every free, which of the nested
    // marks it predates; the arena keeps only the latest one (floor_).
    void rewind(const mark& m) noexcept {
        note_peak();
#ifndef NDEBUG
        check_mark(m);
#endif
        release_chunks_after(m.chunk_);
        if (m.chunk_ != nullptr) {
            make_current(m.chunk_, m.ptr_, 0);
            floor_ = m.floor_;
            origin_ = m.ptr_ - m.used_;  // the chunks older than m.chunk_ are as they were at `m`
        }
        waste_ = m.waste_;
        live_blocks_ = m.live_blocks_;
    }

    // ---- limit and inspection ----

    // Caps the bytes held from the parent: a chunk that would take held bytes
    // above `bytes` is not asked for (a smaller one that still fits the request
    // is tried), and the allocation fails as a value. Nothing already held is
    // returned. A fixed-buffer arena ignores the limit.
    void set_limit(std::size_t bytes) noexcept { limit_ = bytes; }
    std::size_t limit() const noexcept { return limit_; }

    chunk_range chunks() const noexcept { return {current_, ptr_}; }

    allocator_stats stats() const noexcept {
        allocator_stats s;
        s.live_bytes = live_bytes();
        s.live_blocks = live_blocks_;
        s.peak_bytes = std::max(peak_bytes_, s.live_bytes);
        s.held_bytes = held_;
        s.slack_bytes = waste_;
        s.free_bytes = end_ - ptr_;
        s.largest_free = s.free_bytes;
        return s;
    }

private:
    // Sits at the top of every chunk.
    struct chunk_footer {
        std::byte* base;     // first byte of the chunk as the parent gave it; blocks lie in [base, this)
        std::size_t size;    // bytes of the chunk, footer included (what the parent is given back)
        std::size_t align;   // alignment the chunk was asked with (for deallocate)
        chunk_footer* prev;  // the chunk made before this one, nullptr for the oldest
        std::byte* ptr;      // the bump pointer when this chunk stopped being current; base <= ptr <= this
    };

    static constexpr std::size_t chunk_granule = 4096;  // chunk sizes are multiples of it
    static constexpr std::size_t chunk_align = 16;      // least alignment asked for a chunk

    // Bytes used in all the chunks (the sum of chunks()'s `used`), and the live part of them.
    std::size_t used() const noexcept { return ptr_ - origin_; }
    std::size_t live_bytes() const noexcept { return used() - waste_; }

    void note_peak() noexcept { peak_bytes_ = std::max(peak_bytes_, live_bytes()); }

    // Makes c the current chunk with its bump pointer at ptr; `older_used` is
    // the bytes used in the chunks older than c.
    void make_current(chunk_footer* c, std::uintptr_t ptr, std::size_t older_used) noexcept {
        current_ = c;
        ptr_ = ptr;
        floor_ = reinterpret_cast<std::uintptr_t>(c->base);
        end_ = reinterpret_cast<std::uintptr_t>(c);
        origin_ = floor_ - older_used;
    }

    void release(chunk_footer* c) noexcept {
        held_ -= c->size;
        parent_.deallocate(c->base, layout::from_unchecked(c->size, c->align));
    }

    // Returns every chunk newer than `keep` to the parent (all of them for nullptr).
    void release_chunks_after(chunk_footer* keep) noexcept {
        if (fixed_) return;
        while (current_ != nullptr && current_ != keep) {
            chunk_footer* prev = current_->prev;
            release(current_);
            current_ = prev;
        }
        if (current_ == nullptr) ptr_ = end_ = floor_ = origin_ = no_chunk;
    }

#ifndef NDEBUG
    void check_mark(const mark& m) const noexcept {
        bool found = m.chunk_ == nullptr;
        for (const chunk_footer* c = current_; c != nullptr && !found; c = c->prev) found = c == m.chunk_;
        // read the mark's chunk only once it is known to be alive
        const bool in_chunk =
            found && (m.chunk_ == nullptr || (m.ptr_ >= reinterpret_cast<std::uintptr_t>(m.chunk_->base) &&
                                              m.ptr_ <= reinterpret_cast<std::uintptr_t>(m.chunk_)));
        if (!in_chunk) {
            detail::line_buffer<200> line;
            line.text("bump::rewind(): mark at ").hex(m.ptr_).text(" is no longer valid (reset, or rewound past)");
            fatal(line.view());
        }
    }
#endif

    // Zero-size requests that the chunk cannot place, and requests that need a new chunk.
    [[gnu::noinline]] memory_block allocate_slow(layout l) noexcept {
        if (l.size() == 0) {
            ++live_blocks_;
            return {dangling(l.align()), 0};
        }
        if (fixed_ || !add_chunk(l)) return {};
        // The new chunk's base is aligned to l.align() and has room for l.
        const std::uintptr_t start = ptr_;
        ptr_ = start + l.size();
        ++live_blocks_;
        return {reinterpret_cast<void*>(start), l.size()};
    }

    // Asks the parent for a chunk that holds `l` at its base, of at least twice
    // the current chunk's size, within the limit. False when none can be had.
    bool add_chunk(layout l) noexcept {
        const std::size_t align = std::max(l.align(), chunk_align);
        constexpr std::size_t overhead = sizeof(chunk_footer) + alignof(chunk_footer);
        const std::size_t cap = align_down(layout::max_size_for(align), chunk_granule);  // largest chunk we may ask
        if (l.size() > cap - overhead) return false;
        const std::size_t needed = align_up(l.size() + overhead, chunk_granule);  // <= cap
        std::size_t size = current_ == nullptr         ? std::min(first_chunk_, cap)
                           : current_->size <= cap / 2 ? 2 * current_->size
                                                       : cap;
        size = std::max(align_up(size, chunk_granule), needed);
        if (limit_ < held_ || size > limit_ - held_) {
            if (limit_ < held_ || needed > limit_ - held_) return false;
            size = std::max(needed, align_down(limit_ - held_, chunk_granule));
        }
        const memory_block b = parent_.allocate(layout::from_unchecked(size, align));
        if (!b) return false;
        // Only the size asked for is used: it is what the parent gets back
        // (the allocator contract), whatever extra b.size reports.
        const std::size_t got = size;
        const std::size_t older_used = used();  // the current chunk retires with its blocks
        if (current_ != nullptr) current_->ptr = reinterpret_cast<std::byte*>(ptr_);
        auto* base = static_cast<std::byte*>(b.ptr);
        const std::uintptr_t top =
            align_down(reinterpret_cast<std::uintptr_t>(base) + got - sizeof(chunk_footer), alignof(chunk_footer));
        auto* c = new (reinterpret_cast<void*>(top)) chunk_footer{base, got, align, current_, nullptr};
        held_ += got;
        make_current(c, reinterpret_cast<std::uintptr_t>(base), older_used);
        return true;
    }

    std::uintptr_t ptr_ = no_chunk;                  // next free byte of the current chunk; see the invariants
    std::uintptr_t end_ = no_chunk;                  // the current chunk's footer (end of its blocks area)
    std::uintptr_t floor_ = no_chunk;                // blocks starting below it are frozen (see checkpoint)
    std::uintptr_t origin_ = no_chunk;               // ptr_ - origin_ = bytes used in all the chunks (wrapping)
    std::size_t waste_ = 0;                          // used bytes not in a live block (slack); <= ptr_ - origin_
    std::size_t live_blocks_ = 0;                    // live blocks, zero-size ones included
    std::size_t peak_bytes_ = 0;                     // max of live_bytes() at every decrease (stats adds the current)
    chunk_footer* current_ = nullptr;                // the newest chunk, nullptr when there is none
    std::size_t held_ = 0;                           // sum of chunk sizes (a fixed buffer: its size)
    std::size_t limit_ = no_limit;                   // held_ stays <= limit_ when chunks are added
    std::size_t first_chunk_ = default_first_chunk;  // size of the first chunk asked for
    bool fixed_ = false;                             // chunks come from a caller's buffer: never call the parent
    [[no_unique_address]] Parent parent_{};
};

static_assert(allocator<bump<>> && has_grow<bump<>> && has_shrink<bump<>> && has_owns<bump<>> &&
              has_deallocate_all<bump<>> && has_stats<bump<>>);

}  // namespace heapkit
