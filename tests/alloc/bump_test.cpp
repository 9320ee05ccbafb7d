#include <heapkit/alloc/bump.hpp>
#include <heapkit/alloc/system.hpp>

#include <cstdio>
#include <vector>

#include "conformance.hpp"
#include "seeds.hpp"
#include "fixed_buffer.hpp"
#include "shadow_model.hpp"

namespace {

using heapkit::bump;
using heapkit::layout;
using heapkit::memory_block;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

// A bump arena over its own 16 MiB buffer.
using fixed_bump = heapkit::testing::on_buffer<bump<>, std::size_t{16} << 20>;

using heapkit::testing::seeds;

}  // namespace

namespace heapkit::testing {
template <>
struct conformance_traits<fixed_bump> {
    static std::unique_ptr<fixed_bump> make() { return std::make_unique<fixed_bump>(); }
    static constexpr std::size_t max_block = std::size_t{1} << 20;  // the suite holds ~6 MiB at once
    static constexpr std::size_t max_align = 4096;                  // padding for 64 KiB alignments would fill it
    static constexpr bool always_fails = false;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(bump, heapkit::bump<>);
HEAPKIT_CONFORMANCE(bump_over_system, heapkit::bump<heapkit::system>);
HEAPKIT_CONFORMANCE(bump_fixed_buffer, fixed_bump);

TEST(bump, shadow_model_over_pages) {
    for (std::uint64_t seed : seeds()) {
        std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
        bump<> arena;
        EXPECT_EQ(heapkit::testing::run_shadow_model(arena, seed, 4000), "");
    }
}

TEST(bump, shadow_model_over_a_fixed_buffer_that_runs_out) {
    for (std::uint64_t seed : seeds()) {
        std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
        alignas(64) static std::byte buffer[256 * 1024];
        bump<> arena{std::span<std::byte>(buffer)};
        heapkit::testing::shadow_driver<bump<>> d(arena, {});
        heapkit::testing::op_source src(seed);
        for (int i = 0; i < 4000 && d.step(src); ++i) {
        }
        d.release_all();
        EXPECT_TRUE(d.ok()) << "seed " << seed << ": " << d.error();
        EXPECT_GT(d.failed_allocations(), 0u) << "the buffer was meant to run out";
        EXPECT_EQ(arena.parent().stats().held_bytes, 0u);
    }
}

// The derived figures agree with the chunks: what they use is live or slack.
static ::testing::AssertionResult used_is_live_plus_slack(const bump<>& arena) {
    std::size_t used = 0;
    for (auto c : arena.chunks()) used += c.used;
    const auto s = arena.stats();
    if (used == s.live_bytes + s.slack_bytes && s.peak_bytes >= s.live_bytes) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "chunks use " << used << " bytes, live " << s.live_bytes << " + slack "
                                         << s.slack_bytes << ", peak " << s.peak_bytes;
}

TEST(bump, shadow_model_with_checkpoints_keeps_used_equal_to_live_plus_slack) {
    for (std::uint64_t seed : seeds()) {
        std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
        bump<> arena(256);  // small first chunk: many chunks
        heapkit::testing::shadow_driver<bump<>> d(arena, {});
        heapkit::testing::op_source src(seed);
        for (int i = 0; i < 3000 && d.step(src); ++i) {
            ASSERT_TRUE(used_is_live_plus_slack(arena)) << "seed " << seed << ", step " << i;
        }
        d.release_all();
        EXPECT_TRUE(d.ok()) << "seed " << seed << ": " << d.error();
        EXPECT_TRUE(used_is_live_plus_slack(arena));
        // a checkpoint, blocks of every alignment across several chunks, a rewind
        const auto before = arena.stats();
        const auto m = arena.checkpoint();
        for (std::size_t i = 0; i < 300; ++i) {
            auto b = arena.allocate(lay(1 + i % 200, std::size_t{1} << (i % 7)));
            ASSERT_TRUE(b);
            if (i % 3 == 0) arena.deallocate(b.ptr, lay(1 + i % 200, std::size_t{1} << (i % 7)));
            ASSERT_TRUE(used_is_live_plus_slack(arena)) << "seed " << seed << ", block " << i;
        }
        arena.rewind(m);
        EXPECT_TRUE(used_is_live_plus_slack(arena));
        EXPECT_EQ(arena.stats().live_bytes, before.live_bytes);
        EXPECT_EQ(arena.stats().live_blocks, before.live_blocks);
        EXPECT_EQ(arena.stats().slack_bytes, before.slack_bytes);
    }
}

TEST(bump, fast_path_serves_consecutive_blocks) {
    bump<> arena;
    auto a = arena.allocate(lay(24));
    auto b = arena.allocate(lay(8));
    auto c = arena.allocate(lay(1, 1));
    auto d = arena.allocate(lay(16, 16));
    ASSERT_TRUE(a && b && c && d);
    EXPECT_EQ(static_cast<char*>(b.ptr), static_cast<char*>(a.ptr) + 24);
    EXPECT_EQ(static_cast<char*>(c.ptr), static_cast<char*>(b.ptr) + 8);
    EXPECT_EQ(static_cast<char*>(d.ptr), static_cast<char*>(c.ptr) + 16);  // 1 byte + 15 of padding
    EXPECT_TRUE(heapkit::is_aligned(d.ptr, 16));
}

TEST(bump, chunks_grow_geometrically_and_fit_the_request) {
    bump<> arena;  // first chunk: 4 KiB
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(arena.allocate(lay(100)));
    std::vector<std::size_t> sizes;  // newest first
    for (auto c : arena.chunks()) sizes.push_back(c.size);
    ASSERT_GE(sizes.size(), 4u);
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_GE(sizes[i], 2 * sizes[i + 1]) << "chunk " << i;
    // the blocks area excludes the footer: the oldest chunk is 4 KiB from the parent
    EXPECT_LT(sizes.back(), 4096u);
    EXPECT_GT(sizes.back(), 4000u);
    // a request larger than twice the current chunk gets a chunk of its own size
    const std::size_t before = arena.stats().held_bytes;
    const std::size_t big = 8 * before;
    ASSERT_TRUE(arena.allocate(lay(big)));
    const auto newest = *arena.chunks().begin();
    EXPECT_GE(newest.size, big);
    EXPECT_EQ(newest.used, big);
    EXPECT_LT(arena.stats().held_bytes - before, big + 8192);
}

TEST(bump, reset_frees_every_chunk) {
    bump<> arena;
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(arena.allocate(lay(200)));
    EXPECT_GT(arena.parent().stats().held_bytes, 0u);
    arena.reset();
    EXPECT_EQ(arena.parent().stats().held_bytes, 0u);
    EXPECT_EQ(arena.parent().stats().live_blocks, 0u);
    const auto s = arena.stats();
    EXPECT_EQ(s.held_bytes, 0u);
    EXPECT_EQ(s.live_bytes, 0u);
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.peak_bytes, 200000u);
    EXPECT_EQ(arena.chunks().begin(), arena.chunks().end());
    EXPECT_TRUE(arena.allocate(lay(10)));  // and it works again
}

TEST(bump, reset_keep_largest_reuses_the_largest_chunk) {
    bump<> arena;
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(arena.allocate(lay(200)));
    std::size_t largest = 0, chunks = 0;
    for (auto c : arena.chunks()) {
        largest = std::max(largest, c.size);
        ++chunks;
    }
    ASSERT_GT(chunks, 1u);
    arena.reset(heapkit::keep_largest);
    std::size_t kept = 0;
    for (auto c : arena.chunks()) {
        EXPECT_EQ(c.size, largest);
        EXPECT_EQ(c.used, 0u);
        ++kept;
    }
    EXPECT_EQ(kept, 1u);
    EXPECT_EQ(arena.parent().stats().live_blocks, 1u);
    const std::size_t held = arena.stats().held_bytes;
    EXPECT_EQ(held, arena.parent().stats().held_bytes);
    // the kept chunk serves what fits without asking the parent again
    const auto first = (*arena.chunks().begin()).ptr;
    auto b = arena.allocate(lay(largest / 2));
    ASSERT_TRUE(b);
    EXPECT_EQ(b.ptr, first);
    EXPECT_EQ(arena.parent().stats().live_blocks, 1u);
    EXPECT_EQ(arena.stats().live_blocks, 1u);
}

TEST(bump, rewind_frees_what_came_after_the_mark_and_releases_its_chunks) {
    bump<> arena;
    auto a = arena.allocate(lay(100));
    ASSERT_TRUE(a);
    const auto before = arena.stats();
    const auto m = arena.checkpoint();
    auto b = arena.allocate(lay(64));
    ASSERT_TRUE(b);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(arena.allocate(lay(1000)));  // several new chunks
    EXPECT_GT(arena.parent().stats().live_blocks, 1u);
    arena.rewind(m);
    EXPECT_EQ(arena.parent().stats().live_blocks, 1u);  // only the chunk of the mark is left
    const auto after = arena.stats();
    EXPECT_EQ(after.live_bytes, before.live_bytes);
    EXPECT_EQ(after.live_blocks, before.live_blocks);
    EXPECT_EQ(after.held_bytes, before.held_bytes);
    EXPECT_GE(after.peak_bytes, 100u + 64u + 100000u);
    // the space after the mark is handed out again
    auto c = arena.allocate(lay(64));
    EXPECT_EQ(c.ptr, b.ptr);
}

TEST(bump, rewind_to_a_mark_of_an_empty_arena_releases_everything) {
    bump<> arena;
    const auto m = arena.checkpoint();
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(arena.allocate(lay(1000)));
    arena.rewind(m);
    EXPECT_EQ(arena.stats().held_bytes, 0u);
    EXPECT_EQ(arena.parent().stats().held_bytes, 0u);
}

TEST(bump, scopes_nest) {
    bump<> arena;
    auto outer_block = arena.allocate(lay(32));
    ASSERT_TRUE(outer_block);
    heapkit::testing::fill(outer_block.ptr, 32, 1);
    void* first_in_outer = nullptr;
    void* first_in_inner = nullptr;
    {
        bump<>::scope outer(arena);
        auto x = outer.allocate(lay(48));
        ASSERT_TRUE(x);
        first_in_outer = x.ptr;
        {
            bump<>::scope inner(arena);
            auto y = inner.allocate(lay(48));
            ASSERT_TRUE(y);
            first_in_inner = y.ptr;
            for (int i = 0; i < 20; ++i) ASSERT_TRUE(inner.allocate(lay(4000)));
            EXPECT_EQ(arena.stats().live_blocks, 23u);
        }
        EXPECT_EQ(arena.stats().live_blocks, 2u);
        EXPECT_EQ(arena.parent().stats().live_blocks, 1u);
        auto again = outer.allocate(lay(48));
        EXPECT_EQ(again.ptr, first_in_inner);  // the inner scope's space is reused
        EXPECT_EQ(arena.stats().live_blocks, 3u);
    }
    EXPECT_EQ(arena.stats().live_blocks, 1u);
    EXPECT_EQ(arena.stats().live_bytes, 32u);
    EXPECT_EQ(heapkit::testing::first_mismatch(outer_block.ptr, 32, 1), 32u);
    auto next = arena.allocate(lay(48));
    EXPECT_EQ(next.ptr, first_in_outer);
}

TEST(bump, a_block_older_than_the_mark_is_frozen) {
    bump<> arena;
    const layout l = lay(64);
    auto a = arena.allocate(l);
    ASSERT_TRUE(a);
    heapkit::testing::fill(a.ptr, 64, 3);
    const auto m = arena.checkpoint();
    // the newest block, but older than the mark: it does not grow across the mark ...
    auto g = arena.grow(a.ptr, l, lay(128));
    ASSERT_TRUE(g);
    EXPECT_EQ(static_cast<char*>(g.ptr), static_cast<char*>(a.ptr) + 64);
    EXPECT_EQ(heapkit::testing::first_mismatch(g.ptr, 64, 3), 64u);
    // ... while a block made after the mark gives its space back
    arena.deallocate(g.ptr, lay(128));
    auto b = arena.allocate(l);
    EXPECT_EQ(b.ptr, g.ptr);
    arena.rewind(m);
    EXPECT_EQ(arena.stats().live_blocks, 1u);  // the figures at the mark: a counts again
    EXPECT_EQ(arena.stats().live_bytes, 64u);
    auto d = arena.allocate(l);
    EXPECT_EQ(d.ptr, b.ptr);
    // freeing a block older than the mark gives nothing back either
    const auto m2 = arena.checkpoint();
    arena.deallocate(d.ptr, l);
    auto e = arena.allocate(l);
    EXPECT_EQ(static_cast<char*>(e.ptr), static_cast<char*>(d.ptr) + 64);
    arena.rewind(m2);
}

TEST(bump, the_limit_caps_the_bytes_held) {
    bump<> arena;
    arena.set_limit(64 * 1024);
    EXPECT_EQ(arena.limit(), 64u * 1024);
    std::size_t served = 0;
    for (;;) {
        auto b = arena.allocate(lay(1000));
        if (!b) break;
        ++served;
        ASSERT_LT(served, 1000u);
    }
    EXPECT_GT(served, 50u);  // the last chunk was shrunk to fit under the limit
    EXPECT_LE(arena.stats().held_bytes, 64u * 1024);
    EXPECT_EQ(arena.stats().held_bytes, arena.parent().stats().held_bytes);
    EXPECT_EQ(arena.stats().live_blocks, served);
    EXPECT_FALSE(arena.allocate(lay(100000)));  // beyond the limit: a value
    arena.reset();
    EXPECT_TRUE(arena.allocate(lay(1000)));  // works again
    arena.set_limit(bump<>::no_limit);
    EXPECT_TRUE(arena.allocate(lay(100000)));
}

TEST(bump, grow_in_place_keeps_the_pointer) {
    bump<> arena;
    const layout l = lay(16);
    auto a = arena.allocate(l);
    ASSERT_TRUE(a);
    heapkit::testing::fill(a.ptr, 16, 7);
    auto g = arena.grow(a.ptr, l, lay(1000));
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, a.ptr);
    EXPECT_EQ(heapkit::testing::first_mismatch(g.ptr, 16, 7), 16u);
    EXPECT_EQ(arena.stats().live_bytes, 1000u);
    auto next = arena.allocate(lay(8));
    EXPECT_EQ(static_cast<char*>(next.ptr), static_cast<char*>(a.ptr) + 1000);
    // no longer the newest: growing moves it, keeping the data
    heapkit::testing::fill(g.ptr, 1000, 9);
    auto moved = arena.grow(g.ptr, lay(1000), lay(2000));
    ASSERT_TRUE(moved);
    EXPECT_NE(moved.ptr, g.ptr);
    EXPECT_EQ(heapkit::testing::first_mismatch(moved.ptr, 1000, 9), 1000u);
    EXPECT_EQ(arena.stats().live_bytes, 2008u);
    EXPECT_EQ(arena.stats().live_blocks, 2u);
}

TEST(bump, shrink_of_the_newest_gives_its_tail_back) {
    bump<> arena;
    auto a = arena.allocate(lay(1000));
    ASSERT_TRUE(a);
    auto s = arena.shrink(a.ptr, lay(1000), lay(104));
    ASSERT_TRUE(s);
    EXPECT_EQ(s.ptr, a.ptr);
    auto b = arena.allocate(lay(8));
    EXPECT_EQ(static_cast<char*>(b.ptr), static_cast<char*>(a.ptr) + 104);
    EXPECT_EQ(arena.stats().live_bytes, 112u);
}

TEST(bump, deallocating_the_newest_block_reuses_its_space) {
    bump<> arena;
    auto a = arena.allocate(lay(96));
    auto b = arena.allocate(lay(96));
    ASSERT_TRUE(a && b);
    arena.deallocate(b.ptr, lay(96));
    auto c = arena.allocate(lay(96));
    EXPECT_EQ(c.ptr, b.ptr);
    // an older block is a no-op until reset
    arena.deallocate(a.ptr, lay(96));
    auto d = arena.allocate(lay(96));
    EXPECT_EQ(static_cast<char*>(d.ptr), static_cast<char*>(c.ptr) + 96);
    EXPECT_EQ(arena.stats().live_blocks, 2u);
    EXPECT_EQ(arena.stats().slack_bytes, 96u);  // a's bytes: freed, not reusable
}

TEST(bump, chunk_iteration_reports_sizes_and_use) {
    bump<> arena;
    EXPECT_EQ(arena.chunks().begin(), arena.chunks().end());
    ASSERT_TRUE(arena.allocate(lay(3000)));
    ASSERT_TRUE(arena.allocate(lay(3000)));  // does not fit the first chunk's rest
    std::vector<bump<>::chunk_info> cs;
    for (auto c : arena.chunks()) cs.push_back(c);
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0].used, 3000u);
    EXPECT_EQ(cs[1].used, 3000u);
    EXPECT_GE(cs[0].size, 2 * cs[1].size);
    EXPECT_TRUE(arena.owns(cs[0].ptr));
    EXPECT_TRUE(arena.owns(cs[1].ptr + cs[1].size - 1));
    EXPECT_FALSE(arena.owns(cs[1].ptr + cs[1].size));  // the footer is not a block
}

TEST(bump, stats_are_exact) {
    bump<> arena;
    auto s0 = arena.stats();
    EXPECT_EQ(s0.held_bytes, 0u);
    EXPECT_EQ(s0.free_bytes, 0u);
    auto a = arena.allocate(lay(10, 8));   // offset 0..10
    auto b = arena.allocate(lay(20, 32));  // padding 22, 32..52
    ASSERT_TRUE(a && b);
    auto s = arena.stats();
    const auto chunk = *arena.chunks().begin();
    EXPECT_EQ(s.live_bytes, 30u);
    EXPECT_EQ(s.live_blocks, 2u);
    EXPECT_EQ(s.peak_bytes, 30u);
    EXPECT_EQ(s.held_bytes, 4096u);
    EXPECT_EQ(s.slack_bytes, 22u);
    EXPECT_EQ(s.free_bytes, chunk.size - 52);
    EXPECT_EQ(s.largest_free, s.free_bytes);
    arena.deallocate(b.ptr, lay(20, 32));  // newest: back to 32 (the padding stays)
    s = arena.stats();
    EXPECT_EQ(s.live_bytes, 10u);
    EXPECT_EQ(s.peak_bytes, 30u);
    EXPECT_EQ(s.slack_bytes, 22u);
    EXPECT_EQ(s.free_bytes, chunk.size - 32);
}

TEST(bump, slack_counts_padding_frees_out_of_order_and_shrunk_tails) {
    bump<> arena;
    auto a = arena.allocate(lay(10, 1));
    auto z = arena.allocate(lay(0, 64));  // a zero-size block in the chunk: 54 bytes of padding
    auto b = arena.allocate(lay(100, 8));
    ASSERT_TRUE(a && z && b);
    EXPECT_EQ(arena.stats().slack_bytes, 54u);
    EXPECT_EQ(arena.stats().live_bytes, 110u);
    EXPECT_EQ(arena.stats().live_blocks, 3u);
    EXPECT_TRUE(used_is_live_plus_slack(arena));
    ASSERT_TRUE(arena.shrink(a.ptr, lay(10, 1), lay(4, 1)));  // not the newest: its tail is slack
    EXPECT_EQ(arena.stats().slack_bytes, 60u);
    EXPECT_EQ(arena.stats().live_bytes, 104u);
    arena.deallocate(z.ptr, lay(0, 64));
    arena.deallocate(a.ptr, lay(4, 1));  // out of order
    EXPECT_EQ(arena.stats().slack_bytes, 64u);
    EXPECT_EQ(arena.stats().live_bytes, 100u);
    EXPECT_EQ(arena.stats().live_blocks, 1u);
    arena.deallocate(b.ptr, lay(100, 8));  // the newest: its bytes come back, the slack stays
    EXPECT_EQ(arena.stats().slack_bytes, 64u);
    EXPECT_EQ(arena.stats().live_bytes, 0u);
    EXPECT_EQ(arena.stats().peak_bytes, 110u);
    EXPECT_TRUE(used_is_live_plus_slack(arena));
    arena.reset(heapkit::keep_largest);
    EXPECT_EQ(arena.stats().slack_bytes, 0u);
    EXPECT_TRUE(used_is_live_plus_slack(arena));
}

TEST(bump, zero_size_requests) {
    bump<> arena;
    for (std::size_t align = 1; align <= (std::size_t{1} << 20); align *= 2) {
        auto z = arena.allocate(lay(0, align));
        ASSERT_TRUE(z);
        EXPECT_TRUE(heapkit::is_aligned(z.ptr, align));
        arena.deallocate(z.ptr, lay(0, align));
    }
    EXPECT_EQ(arena.stats().held_bytes, 0u);  // no chunk was needed
    EXPECT_EQ(arena.stats().live_blocks, 0u);
}

TEST(bump, fixed_buffer_exhaustion_is_a_value_and_rewind_recovers) {
    alignas(16) std::byte buffer[4096];
    bump<> arena{std::span<std::byte>(buffer)};
    EXPECT_TRUE(arena.is_fixed_buffer());
    EXPECT_EQ(arena.stats().held_bytes, 4096u);
    const auto m = arena.checkpoint();
    const std::size_t area = (*arena.chunks().begin()).size;
    EXPECT_LT(area, 4096u);  // the footer takes the top of the buffer
    EXPECT_GT(area, 4000u);
    std::size_t n = 0;
    while (arena.allocate(lay(100, 4))) ++n;  // 100 is a multiple of 4: no padding
    EXPECT_EQ(n, area / 100);
    EXPECT_FALSE(arena.allocate(lay(100, 4)));
    EXPECT_TRUE(arena.allocate(lay(0, 64)));  // zero-size still works
    EXPECT_TRUE(arena.owns(buffer));
    EXPECT_EQ(arena.parent().stats().held_bytes, 0u);  // never asked
    arena.rewind(m);
    auto again = arena.allocate(lay(100));
    ASSERT_TRUE(again);
    EXPECT_EQ(again.ptr, static_cast<void*>(buffer));
    while (arena.allocate(lay(1000))) {
    }
    arena.reset();
    EXPECT_TRUE(arena.allocate(lay(4000)));
    EXPECT_EQ(arena.stats().held_bytes, 4096u);
}

TEST(bump, a_buffer_too_small_fails_every_request) {
    std::byte buffer[16];
    bump<> arena{std::span<std::byte>(buffer)};
    EXPECT_FALSE(arena.allocate(lay(1, 1)));
    EXPECT_TRUE(arena.allocate(lay(0, 8)));
    arena.reset();
}

TEST(bump, over_another_parent) {
    bump<heapkit::system> arena(256);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(arena.allocate(lay(64, 64)));
    EXPECT_EQ(arena.stats().live_bytes, 6400u);
}
