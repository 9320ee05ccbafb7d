// heapkit::free_list: variable-size blocks with boundary tags, split on
// allocation and coalesced with both neighbours on free; wee_alloc's model,
// with the placement policy chosen at compile time.
//
//   regions (from the parent, or the caller's buffer):
//     [hdr| A live | B free | C live | D free ...........| end]  -> next region
//                    ^                  ^
//   free list:  head -> D <-> B -> nullptr       (doubly linked through the free blocks)
//
//   block: [prev_size | size|free][payload ...]   16 B header; see detail/boundary_tags.hpp
//
// Policies (tag types):
//   first_fit       the first block in the list that fits (the list is LIFO:
//                   the most recently freed block is looked at first);
//   next_fit        as first_fit, but each search resumes where the last one stopped;
//   best_fit        the smallest block that fits (stops early on an exact fit);
//   segregated_fit  one list per size class, as wee_alloc keeps them: exact
//                   classes of 16 B up to 512 B, then one per power of two;
//                   a bitmap of non-empty classes skips the empty ones.
//
// Invariants: those of detail::boundary_tag_heap (no two free blocks are
// adjacent; a block is listed iff it is free), and for each policy below the
// ones stated at its fields.
//
// Complexity (n = free blocks): free is O(1) (coalescing plus a list push);
// allocate is O(n) for first/next/best fit, O(blocks in one class) for
// segregated_fit (any block of a higher class fits, found by one bit scan).
// A block costs a 16-byte header, sizes round up to 16, the least block is
// 32 bytes. Requests no region can serve take a new region from the parent of
// max(256 KiB, what the request needs); a region that becomes empty goes back
// to the parent unless it is the only one. Over a caller's buffer nothing
// grows: a request that does not fit fails with {nullptr, 0}.
#pragma once

#include <heapkit/alloc/pages.hpp>
#include <heapkit/allocator.hpp>
#include <heapkit/detail/boundary_tags.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace heapkit {

struct first_fit {};
struct next_fit {};
struct best_fit {};
struct segregated_fit {};

namespace detail {

// One doubly linked list of every free block; Policy picks among them.
template <class Policy>
class fit_list_index {
public:
    static constexpr const char* name = "free_list";

    void insert(tag_block* b) noexcept {
        b->prev_free = nullptr;
        b->next_free = head_;
        if (head_ != nullptr) head_->prev_free = b;
        head_ = b;
    }

    void remove(tag_block* b) noexcept {
        if constexpr (std::is_same_v<Policy, next_fit>) {
            if (rover_ == b) rover_ = b->next_free;
        }
        if (b->prev_free != nullptr)
            b->prev_free->next_free = b->next_free;
        else
            head_ = b->next_free;
        if (b->next_free != nullptr) b->next_free->prev_free = b->prev_free;
    }

    tag_block* find(std::size_t need, std::size_t align) noexcept {
        if constexpr (std::is_same_v<Policy, first_fit>) {
            for (tag_block* b = head_; b != nullptr; b = b->next_free)
                if (tag_fits(b, need, align)) return b;
            return nullptr;
        } else if constexpr (std::is_same_v<Policy, next_fit>) {
            tag_block* start = rover_ != nullptr ? rover_ : head_;
            for (tag_block* b = start; b != nullptr; b = b->next_free)
                if (tag_fits(b, need, align)) return rover_ = b;
            for (tag_block* b = head_; b != start; b = b->next_free)
                if (tag_fits(b, need, align)) return rover_ = b;
            return nullptr;
        } else {
            static_assert(std::is_same_v<Policy, best_fit>, "free_list: unknown placement policy");
            tag_block* best = nullptr;
            for (tag_block* b = head_; b != nullptr; b = b->next_free) {
                if (!tag_fits(b, need, align) || (best != nullptr && b->size() >= best->size())) continue;
                best = b;
                if (b->size() == need) break;
            }
            return best;
        }
    }

    std::size_t largest() const noexcept {
        std::size_t m = 0;
        for (const tag_block* b = head_; b != nullptr; b = b->next_free) m = b->size() > m ? b->size() : m;
        return m;
    }

    void clear() noexcept { head_ = rover_ = nullptr; }

private:
    tag_block* head_ = nullptr;   // most recently freed block; nullptr when none is free
    tag_block* rover_ = nullptr;  // next_fit: where the next search starts; nullptr or a listed block
};

// One list per size class; a bit per class says whether its list is non-empty.
class segregated_index {
public:
    static constexpr const char* name = "free_list";
    static constexpr unsigned classes = 64;
    static constexpr std::size_t exact_limit = 512;  // below it, one class per 16-byte size

    // The class of a block of `size` bytes: size / 16 below 512, then one per power of two.
    static constexpr unsigned class_of(std::size_t size) noexcept {
        if (size < exact_limit) return static_cast<unsigned>(size / tag_block::granule);
        const unsigned c = 32 + static_cast<unsigned>(std::bit_width(size) - 1) - 9;
        return c < classes ? c : classes - 1;
    }

    void insert(tag_block* b) noexcept {
        const unsigned c = class_of(b->size());
        b->prev_free = nullptr;
        b->next_free = heads_[c];
        if (heads_[c] != nullptr) heads_[c]->prev_free = b;
        heads_[c] = b;
        nonempty_ |= std::uint64_t{1} << c;
    }

    void remove(tag_block* b) noexcept {
        const unsigned c = class_of(b->size());
        if (b->prev_free != nullptr)
            b->prev_free->next_free = b->next_free;
        else
            heads_[c] = b->next_free;
        if (b->next_free != nullptr) b->next_free->prev_free = b->prev_free;
        if (heads_[c] == nullptr) nonempty_ &= ~(std::uint64_t{1} << c);
    }

    tag_block* find(std::size_t need, std::size_t align) noexcept {
        const std::size_t key = tag_search_size(need, align);
        const unsigned c = class_of(key);
        // In the request's own class a block may be too small: look at each.
        for (tag_block* b = heads_[c]; b != nullptr; b = b->next_free)
            if (tag_fits(b, need, align)) return b;
        // Every block of a higher class is at least `key` bytes, so the first one fits.
        if (c + 1 >= classes) return nullptr;
        const std::uint64_t higher = nonempty_ & (~std::uint64_t{0} << (c + 1));
        return higher == 0 ? nullptr : heads_[std::countr_zero(higher)];
    }

    std::size_t largest() const noexcept {
        if (nonempty_ == 0) return 0;
        std::size_t m = 0;
        for (const tag_block* b = heads_[63 - std::countl_zero(nonempty_)]; b != nullptr; b = b->next_free)
            m = b->size() > m ? b->size() : m;
        return m;
    }

    void clear() noexcept {
        for (auto& h : heads_) h = nullptr;
        nonempty_ = 0;
    }

private:
    tag_block* heads_[classes] = {};  // heads_[c]: free blocks with class_of(size) == c, LIFO
    std::uint64_t nonempty_ = 0;      // bit c set iff heads_[c] != nullptr
};

template <class Policy>
struct fit_index_for {
    using type = fit_list_index<Policy>;
};
template <>
struct fit_index_for<segregated_fit> {
    using type = segregated_index;
};

}  // namespace detail

// See the top of this file. Constructors: free_list() takes regions from a
// default-constructed Parent; free_list(std::size_t region_bytes) sets the
// least region size; free_list(std::span<std::byte>) serves from that buffer
// only. add_pool(span) adds a caller's buffer as one more region.
template <class Policy = first_fit, class Parent = pages>
class free_list : public detail::boundary_tag_heap<typename detail::fit_index_for<Policy>::type, Parent> {
    using base = detail::boundary_tag_heap<typename detail::fit_index_for<Policy>::type, Parent>;

public:
    using policy = Policy;
    using base::base;
};

static_assert(allocator<free_list<>> && has_grow<free_list<>> && has_shrink<free_list<>> && has_owns<free_list<>> &&
              has_usable_size<free_list<>> && has_deallocate_all<free_list<>> && has_stats<free_list<>>);

}  // namespace heapkit
