// heapkit::failing<A> and heapkit::testing::check_all_allocation_failures:
// failures land exactly where the policy says, the figures show leaks, and
// the checker passes correct code and catches code that leaks on one path.
#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/failing.hpp>
#include <heapkit/std.hpp>
#include <heapkit/testing.hpp>

#include "conformance.hpp"

#include <exception>
#include <new>
#include <string>
#include <vector>

HEAPKIT_CONFORMANCE(failing_system, heapkit::failing<heapkit::system>);

namespace {

using heapkit::failing;
using heapkit::failure_policy;
using heapkit::layout;
using heapkit::memory_block;
using heapkit::testing::check_all_allocation_failures;
using heapkit::testing::failing_allocator;
using heapkit::testing::failure_report;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

// Makes `n` allocations of 8 bytes and reports which succeeded; frees them all.
template <class A>
std::vector<bool> outcomes(A& a, std::size_t n) {
    std::vector<bool> ok;
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < n; ++i) {
        memory_block b = a.allocate(lay(8));
        ok.push_back(static_cast<bool>(b));
        if (b) blocks.push_back(b.ptr);
    }
    for (void* p : blocks) a.deallocate(p, lay(8));
    return ok;
}

TEST(failing, default_policy_never_fails) {
    failing<heapkit::system> f;
    const auto ok = outcomes(f, 100);
    EXPECT_EQ(std::count(ok.begin(), ok.end(), true), 100);
    EXPECT_EQ(f.allocations(), 100u);
    EXPECT_EQ(f.failures(), 0u);
}

TEST(failing, fail_at_is_sticky) {
    failure_policy p;
    p.fail_at = 3;
    failing<heapkit::system> f(p);
    const auto ok = outcomes(f, 7);
    EXPECT_EQ(ok, (std::vector<bool>{true, true, true, false, false, false, false}));
    EXPECT_EQ(f.allocations(), 7u);  // failed attempts are numbered too
    EXPECT_EQ(f.failures(), 4u);
}

TEST(failing, fail_at_only_once_fails_that_one_allocation) {
    failure_policy p;
    p.fail_at = 2;
    p.only_once = true;
    failing<heapkit::system> f(p);
    const auto ok = outcomes(f, 6);
    EXPECT_EQ(ok, (std::vector<bool>{true, true, false, true, true, true}));
    EXPECT_EQ(f.failures(), 1u);
    EXPECT_EQ(f.allocations(), 6u);
}

TEST(failing, fail_at_zero_fails_the_first) {
    failure_policy p;
    p.fail_at = 0;
    p.only_once = true;
    failing<heapkit::system> f(p);
    EXPECT_EQ(outcomes(f, 3), (std::vector<bool>{false, true, true}));
}

TEST(failing, grow_shrink_and_zeroed_are_numbered_too) {
    failure_policy p;
    p.fail_at = 2;  // #0 allocate, #1 allocate_zeroed, #2 grow fails, #3 shrink fails
    failing<heapkit::system> f(p);
    memory_block a = f.allocate(lay(16));
    ASSERT_TRUE(a);
    memory_block z = f.allocate_zeroed(lay(16));
    ASSERT_TRUE(z);
    heapkit::testing::fill(a.ptr, 16, 4);
    EXPECT_FALSE(f.grow(a.ptr, lay(16), lay(64)));
    EXPECT_FALSE(f.shrink(a.ptr, lay(16), lay(8)));
    EXPECT_EQ(heapkit::testing::first_mismatch(a.ptr, 16, 4), 16u);  // a failed resize keeps the block
    EXPECT_EQ(f.allocations(), 4u);
    EXPECT_EQ(f.failures(), 2u);
    EXPECT_EQ(f.live_blocks(), 2u);
    EXPECT_EQ(f.live_bytes(), 32u);
    f.deallocate(a.ptr, lay(16));
    f.deallocate(z.ptr, lay(16));
    EXPECT_EQ(f.live_blocks(), 0u);
    EXPECT_EQ(f.live_bytes(), 0u);
}

TEST(failing, byte_budget_caps_live_bytes) {
    failure_policy p;
    p.byte_budget = 1000;
    failing<heapkit::system> f(p);
    memory_block a = f.allocate(lay(600));
    ASSERT_TRUE(a);
    EXPECT_FALSE(f.allocate(lay(500)));     // 1100 > 1000
    memory_block b = f.allocate(lay(400));  // exactly 1000
    ASSERT_TRUE(b);
    EXPECT_FALSE(f.allocate(lay(1)));
    EXPECT_EQ(f.live_bytes(), 1000u);
    f.deallocate(a.ptr, lay(600));
    memory_block c = f.allocate(lay(500));  // room again
    ASSERT_TRUE(c);
    // a grow is charged its extra bytes: 900 live, +200 is too much, +100 fits
    EXPECT_FALSE(f.grow(c.ptr, lay(500), lay(700)));
    memory_block g = f.grow(c.ptr, lay(500), lay(600));
    ASSERT_TRUE(g);
    EXPECT_EQ(f.live_bytes(), 1000u);
    EXPECT_EQ(f.failures(), 3u);
    EXPECT_EQ(f.stats().peak_bytes, 1000u);
    f.deallocate(b.ptr, lay(400));
    f.deallocate(g.ptr, lay(600));
    EXPECT_EQ(f.live_bytes(), 0u);
    EXPECT_EQ(f.live_blocks(), 0u);
}

TEST(failing, probability_with_the_same_seed_replays_the_same_failures) {
    failure_policy p;
    p.probability = 0.5;
    p.seed = 20240601;
    failing<heapkit::system> f1(p);
    failing<heapkit::system> f2(p);
    const auto a = outcomes(f1, 400);
    const auto b = outcomes(f2, 400);
    EXPECT_EQ(a, b);
    const auto failed = static_cast<std::size_t>(std::count(a.begin(), a.end(), false));
    EXPECT_EQ(f1.failures(), failed);
    // about half of them, and not a degenerate sequence (deterministic: seeded)
    EXPECT_GT(failed, 120u);
    EXPECT_LT(failed, 280u);

    p.seed = 20240602;
    failing<heapkit::system> f3(p);
    EXPECT_NE(outcomes(f3, 400), a) << "a different seed gives a different sequence";
}

TEST(failing, probability_zero_and_one) {
    failure_policy never;
    never.probability = 0.0;
    failing<heapkit::system> f0(never);
    const auto ok0 = outcomes(f0, 50);
    EXPECT_EQ(std::count(ok0.begin(), ok0.end(), false), 0);

    failure_policy always;
    always.probability = 1.0;
    always.seed = 7;
    failing<heapkit::system> f1(always);
    const auto ok1 = outcomes(f1, 50);
    EXPECT_EQ(std::count(ok1.begin(), ok1.end(), true), 0);
    EXPECT_EQ(f1.failures(), 50u);
}

TEST(failing, parent_failures_are_not_counted_as_injected) {
    failing<heapkit::null> f;
    EXPECT_FALSE(f.allocate(lay(8)));
    EXPECT_EQ(f.allocations(), 1u);
    EXPECT_EQ(f.failures(), 0u);
    EXPECT_EQ(f.live_blocks(), 0u);
    EXPECT_EQ(f.live_bytes(), 0u);
}

TEST(failing, live_figures_show_a_leak) {
    failing<heapkit::system> f;
    memory_block a = f.allocate(lay(100));
    memory_block b = f.allocate(lay(28));
    ASSERT_TRUE(a && b);
    f.deallocate(a.ptr, lay(100));
    EXPECT_EQ(f.live_blocks(), 1u);
    EXPECT_EQ(f.live_bytes(), 28u);
    EXPECT_EQ(f.stats().peak_bytes, 128u);
    f.deallocate(b.ptr, lay(28));
}

// ---- check_all_allocation_failures ----

struct node {
    node* next;
    int value;
};

// Frees a list of nodes into `a`, also when the stack unwinds.
struct list_guard {
    failing_allocator& a;
    node* head = nullptr;
    int* unwinds = nullptr;
    ~list_guard() {
        if (std::uncaught_exceptions() > 0 && unwinds != nullptr) ++*unwinds;
        while (head != nullptr) {
            node* next = head->next;
            a.deallocate(head, layout::of<node>());
            head = next;
        }
    }
};

// Correct code: five nodes, then a vector that throws bad_alloc when its
// allocation fails. Every failure path frees what was made.
void build_structure(failing_allocator& a, int* unwinds) {
    list_guard list{a, nullptr, unwinds};
    for (int i = 0; i < 5; ++i) {
        memory_block b = a.allocate(layout::of<node>());
        if (!b) return;  // the guard frees the nodes made so far
        list.head = ::new (b.ptr) node{list.head, i};
    }
    heapkit::vector<int, failing_allocator> v{heapkit::std_allocator<int, failing_allocator>(a)};
    v.reserve(16);
    for (int i = 0; i < 20; ++i) v.push_back(i);  // the 17th grows the buffer once
    int sum = 0;
    for (node* n = list.head; n != nullptr; n = n->next) sum += n->value;
    if (sum != 10 || v.size() != 20) std::abort();
}

TEST(check_all_allocation_failures, correct_code_passes) {
    int calls = 0;
    int unwinds = 0;
    const failure_report report = check_all_allocation_failures([&](failing_allocator& a) {
        ++calls;
        build_structure(a, &unwinds);
    });
    EXPECT_TRUE(report.ok) << report.message;
    EXPECT_TRUE(report.message.empty()) << report.message;
    // 5 nodes, the vector's reserve and its one regrowth
    EXPECT_EQ(report.allocations, 7u);
    EXPECT_EQ(calls, 1 + 7);  // once without failures, then once per allocation
    EXPECT_EQ(unwinds, 2);    // the two vector allocations failed as std::bad_alloc
}

TEST(check_all_allocation_failures, code_without_allocations_passes) {
    const failure_report report = check_all_allocation_failures([](failing_allocator&) {});
    EXPECT_TRUE(report.ok);
    EXPECT_EQ(report.allocations, 0u);
}

TEST(check_all_allocation_failures, a_leak_on_one_failure_path_is_caught) {
    void* leaked = nullptr;
    const failure_report report = check_all_allocation_failures([&](failing_allocator& a) {
        memory_block first = a.allocate(lay(48));
        if (!first) return;
        memory_block second = a.allocate(lay(16));
        if (!second) {
            leaked = first.ptr;  // the bug: `first` is not freed on this path
            return;
        }
        memory_block third = a.allocate(lay(8));
        if (third) a.deallocate(third.ptr, lay(8));
        a.deallocate(second.ptr, lay(16));
        a.deallocate(first.ptr, lay(48));
    });
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.allocations, 3u);
    EXPECT_EQ(report.failing_index, 1u);
    EXPECT_EQ(report.leaked_bytes, 48u);
    EXPECT_EQ(report.leaked_blocks, 1u);
    EXPECT_NE(report.message.find("allocation #1 failing"), std::string::npos) << report.message;
    EXPECT_NE(report.message.find("leaked 48 bytes in 1 blocks"), std::string::npos) << report.message;
    // failing_allocator draws on heapkit::system: give the leaked block back
    // so LeakSanitizer stays quiet.
    ASSERT_NE(leaked, nullptr);
    heapkit::system{}.deallocate(leaked, lay(48));
}

TEST(check_all_allocation_failures, a_leak_without_failures_is_caught_first) {
    void* leaked = nullptr;
    const failure_report report = check_all_allocation_failures([&](failing_allocator& a) {
        memory_block b = a.allocate(lay(24));
        if (b) leaked = b.ptr;  // never freed
    });
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.failing_index, failure_policy::never);
    EXPECT_EQ(report.leaked_bytes, 24u);
    EXPECT_NE(report.message.find("without failures leaked"), std::string::npos) << report.message;
    ASSERT_NE(leaked, nullptr);
    heapkit::system{}.deallocate(leaked, lay(24));
}

TEST(check_all_allocation_failures, code_that_allocates_differently_each_run_is_reported) {
    int run = 0;
    const failure_report report = check_all_allocation_failures([&](failing_allocator& a) {
        // the first run makes three allocations, later runs only one
        const int n = run++ == 0 ? 3 : 1;
        for (int i = 0; i < n; ++i) {
            memory_block b = a.allocate(lay(8));
            if (b) a.deallocate(b.ptr, lay(8));
        }
    });
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.allocations, 3u);
    EXPECT_EQ(report.failing_index, 1u);
    EXPECT_NE(report.message.find("was never made"), std::string::npos) << report.message;
}

TEST(check_all_allocation_failures, bad_alloc_that_escapes_is_an_allowed_report) {
    const failure_report report = check_all_allocation_failures([](failing_allocator& a) {
        auto p = heapkit::make_unique_in<std::vector<int>>(a);  // throws bad_alloc when it fails
        p->push_back(1);                                        // global heap, not `a`
    });
    EXPECT_TRUE(report.ok) << report.message;
    EXPECT_EQ(report.allocations, 1u);
}

}  // namespace
