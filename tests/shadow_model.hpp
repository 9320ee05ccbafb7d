// A shadow model for randomised and fuzz tests of any heapkit allocator.
//
// A driver applies a stream of operations (allocate, allocate_zeroed, free,
// grow, shrink, deallocate_all) to an allocator and to a model of what must
// be true, and checks after every step:
//   - every live block is aligned to its layout and overlaps no other;
//   - every block keeps its contents (a pattern written at allocation, kept
//     across grow and shrink, checked again before it is freed);
//   - zeroed blocks read as zero;
//   - the allocator's stats (when it has them) agree with the model: live
//     bytes and blocks equal, peak >= live, held >= live.
// A failed allocation is allowed (fixed buffers run out); the model then
// expects the old block untouched. The stream comes from a seeded generator
// (randomised tests print the seed) or from fuzzer bytes.
#pragma once

#include <heapkit/allocator.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace heapkit::testing {

// Where the operations come from: a seeded generator or a fuzzer's bytes.
class op_source {
public:
    explicit op_source(std::uint64_t seed) : rng_(seed), data_(nullptr), size_(0) {}
    op_source(const std::uint8_t* data, std::size_t size) : rng_(0), data_(data), size_(size) {}

    bool exhausted() const { return data_ != nullptr && pos_ >= size_; }

    // A value in [0, bound).
    std::uint64_t below(std::uint64_t bound) {
        if (bound <= 1) return 0;
        if (data_ == nullptr) return rng_() % bound;
        std::uint64_t v = 0;
        for (int i = 0; i < 4 && pos_ < size_; ++i) v = (v << 8) | data_[pos_++];
        return v % bound;
    }

private:
    std::mt19937_64 rng_;
    const std::uint8_t* data_;  // fuzzer input, or nullptr for the generator
    std::size_t size_;
    std::size_t pos_ = 0;
};

struct shadow_limits {
    std::size_t max_size = 64 * 1024;  // largest block size drawn (a power of two helps the spread)
    std::size_t max_align = 4096;      // largest alignment drawn
    std::size_t max_live = 256;        // blocks kept live at most
};

template <allocator A>
class shadow_driver {
public:
    shadow_driver(A& a, shadow_limits limits) : a_(a), limits_(limits) {}
    ~shadow_driver() { release_all(); }

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    std::size_t steps() const { return steps_; }
    std::size_t failed_allocations() const { return failed_; }

    // Applies one operation drawn from `src`; false when the source is exhausted or a check failed.
    bool step(op_source& src) {
        if (src.exhausted() || !ok()) return false;
        ++steps_;
        const std::uint64_t op = src.below(100);
        if (blocks_.empty() || (op < 40 && blocks_.size() < limits_.max_live)) {
            do_allocate(src, op % 4 == 0);
        } else if (op < 70) {
            do_free(src.below(blocks_.size()));
        } else if (op < 85) {
            do_resize(src.below(blocks_.size()), draw_size(src), true);
        } else if (op < 99) {
            do_resize(src.below(blocks_.size()), draw_size(src), false);
        } else {
            if constexpr (has_deallocate_all<A>) {
                a_.deallocate_all();
                blocks_.clear();
                ranges_.clear();
                live_bytes_ = 0;
            }
        }
        check_stats();
        return ok();
    }

    // Frees every live block (checking its contents).
    void release_all() {
        while (!blocks_.empty()) do_free(blocks_.size() - 1);
        check_stats();
    }

private:
    struct block {
        char* ptr;
        layout l;
        std::size_t seed;
    };

    static unsigned char pat(std::size_t seed, std::size_t i) { return static_cast<unsigned char>(seed * 31 + i * 13); }

    std::size_t draw_size(op_source& src) {
        // mostly small, sometimes up to max_size: a log-uniform spread
        std::size_t bits = 0;
        while ((std::size_t{1} << bits) < limits_.max_size) ++bits;
        const std::size_t b = src.below(bits + 1);
        const std::size_t hi = std::size_t{1} << b;
        return src.below(hi + 1);
    }

    void fail(const std::string& what) {
        if (!error_.empty()) return;
        std::ostringstream s;
        s << "step " << steps_ << ": " << what;
        error_ = s.str();
    }

    void write(block& b) {
        for (std::size_t i = 0; i < b.l.size(); ++i) b.ptr[i] = static_cast<char>(pat(b.seed, i));
    }
    bool intact(const block& b, std::size_t n) const {
        for (std::size_t i = 0; i < n; ++i)
            if (static_cast<unsigned char>(b.ptr[i]) != pat(b.seed, i)) return false;
        return true;
    }

    bool add_range(char* p, std::size_t n) {
        if (n == 0) return true;
        auto next = ranges_.lower_bound(p);
        if (next != ranges_.end() && next->first < p + n) return false;
        if (next != ranges_.begin()) {
            auto prev = std::prev(next);
            if (prev->first + prev->second > p) return false;
        }
        ranges_.emplace(p, n);
        return true;
    }
    void remove_range(char* p, std::size_t n) {
        if (n != 0) ranges_.erase(p);
    }

    void do_allocate(op_source& src, bool zeroed) {
        const std::size_t size = draw_size(src);
        std::size_t align = std::size_t{1} << src.below(13);
        if (align > limits_.max_align) align = limits_.max_align;
        const layout l = *layout::from(size, align);
        memory_block mb = zeroed ? heapkit::allocate_zeroed(a_, l) : a_.allocate(l);
        if (!mb) {
            ++failed_;
            return;
        }
        block b{static_cast<char*>(mb.ptr), l, next_seed_++};
        if (!is_aligned(b.ptr, align)) return fail("allocate(" + std::to_string(size) + ", " + std::to_string(align) + ") misaligned");
        if (mb.size < size) return fail("allocate returned a block smaller than asked");
        if (zeroed) {
            for (std::size_t i = 0; i < size; ++i)
                if (b.ptr[i] != 0) return fail("allocate_zeroed returned a non-zero byte at " + std::to_string(i));
        }
        if (!add_range(b.ptr, size)) return fail("allocate(" + std::to_string(size) + ") overlaps a live block");
        write(b);
        blocks_.push_back(b);
        live_bytes_ += size;
    }

    void do_free(std::size_t k) {
        block b = blocks_[k];
        if (!intact(b, b.l.size())) return fail("block of " + std::to_string(b.l.size()) + " bytes was overwritten");
        remove_range(b.ptr, b.l.size());
        a_.deallocate(b.ptr, b.l);
        live_bytes_ -= b.l.size();
        blocks_[k] = blocks_.back();
        blocks_.pop_back();
    }

    void do_resize(std::size_t k, std::size_t new_size, bool growing) {
        block& b = blocks_[k];
        const std::size_t old = b.l.size();
        if (growing ? new_size < old : new_size > old) new_size = old;
        const layout nl = *layout::from(new_size, b.l.align());
        memory_block mb = growing ? heapkit::grow(a_, b.ptr, b.l, nl) : heapkit::shrink(a_, b.ptr, b.l, nl);
        if (!mb) {
            ++failed_;
            if (!intact(b, old)) fail("a failed grow/shrink changed the block");
            return;
        }
        remove_range(b.ptr, old);
        block nb{static_cast<char*>(mb.ptr), nl, b.seed};
        if (!is_aligned(nb.ptr, nl.align())) return fail("grow/shrink lost the alignment");
        if (!intact(nb, std::min(old, new_size))) return fail(std::string(growing ? "grow" : "shrink") + " lost data");
        if (!add_range(nb.ptr, new_size)) return fail("grow/shrink result overlaps a live block");
        live_bytes_ = live_bytes_ - old + new_size;
        b = nb;
        write(b);
    }

    void check_stats() {
        if constexpr (has_stats<A>) {
            const allocator_stats s = a_.stats();
            if (s.live_bytes != live_bytes_)
                fail("stats().live_bytes " + std::to_string(s.live_bytes) + " != model " + std::to_string(live_bytes_));
            if (s.live_blocks != blocks_.size())
                fail("stats().live_blocks " + std::to_string(s.live_blocks) + " != model " + std::to_string(blocks_.size()));
            if (s.peak_bytes < s.live_bytes) fail("stats().peak_bytes < live_bytes");
            if (s.held_bytes != 0 && s.held_bytes < s.live_bytes) fail("stats().held_bytes < live_bytes");
            if (s.largest_free > s.free_bytes) fail("stats().largest_free > free_bytes");
        }
    }

    A& a_;
    shadow_limits limits_;
    std::vector<block> blocks_;            // the model: every live block
    std::map<char*, std::size_t> ranges_;  // start -> size of live non-empty blocks
    std::size_t live_bytes_ = 0;           // sum of sizes in blocks_
    std::size_t next_seed_ = 1;
    std::size_t steps_ = 0;
    std::size_t failed_ = 0;
    std::string error_;
};

// Runs `steps` random operations against `a` from `seed`; the result's
// message names the seed so a failure can be replayed.
template <allocator A>
std::string run_shadow_model(A& a, std::uint64_t seed, std::size_t steps, shadow_limits limits = {}) {
    shadow_driver<A> d(a, limits);
    op_source src(seed);
    for (std::size_t i = 0; i < steps && d.step(src); ++i) {
    }
    d.release_all();
    return d.ok() ? std::string() : "seed " + std::to_string(seed) + ": " + d.error();
}

}  // namespace heapkit::testing
