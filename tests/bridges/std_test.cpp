// The standard-library bridges: std_allocator in containers (figures seen by
// a counting<> parent, propagation, equality, rebind, exceptions),
// memory_resource<A> under std::pmr, and make_unique_in / try_make_unique_in.
#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/failing.hpp>
#include <heapkit/std.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <list>
#include <map>
#include <memory_resource>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using heapkit::counting_snapshot;
using heapkit::layout;
using heapkit::std_allocator;
using counter = heapkit::counting<heapkit::system>;

template <class T>
using counted = std_allocator<T, counter>;

// ---- std_allocator ----

TEST(std_allocator, vector_draws_on_the_allocator) {
    counter c;
    {
        heapkit::vector<int, counter> v{counted<int>(c)};
        v.reserve(100);
        const counting_snapshot s = c.snapshot();
        EXPECT_EQ(s.allocations, 1u);
        EXPECT_EQ(s.bytes_allocated, 100 * sizeof(int));
        for (int i = 0; i < 100; ++i) v.push_back(i);
        EXPECT_EQ(c.snapshot().allocations, 1u);  // no regrowth within the reserve
        EXPECT_EQ(v[99], 99);
    }
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(s.deallocations, 1u);
    EXPECT_EQ(s.live_bytes(), 0u);
}

TEST(std_allocator, map_list_and_string_draw_on_the_allocator) {
    counter c;
    {
        heapkit::map<int, int, counter> m{counted<std::pair<const int, int>>(c)};
        for (int i = 0; i < 10; ++i) m.emplace(i, i * i);
        EXPECT_EQ(c.snapshot().allocations, 10u);  // one node each
        EXPECT_EQ(c.snapshot().live_blocks(), 10u);
        m.erase(3);
        EXPECT_EQ(c.snapshot().live_blocks(), 9u);

        heapkit::list<std::uint64_t, counter> l{counted<std::uint64_t>(c)};
        for (std::uint64_t i = 0; i < 7; ++i) l.push_back(i);
        EXPECT_EQ(c.snapshot().live_blocks(), 9u + 7u);

        const counting_snapshot before = c.snapshot();
        heapkit::string<counter> s{counted<char>(c)};
        s.assign(200, 'x');  // beyond any small-string buffer
        const counting_snapshot d = c.snapshot().since(before);
        EXPECT_EQ(d.allocations, 1u);
        EXPECT_GE(d.bytes_allocated, 201u);  // with the terminating zero
        EXPECT_EQ(s.size(), 200u);
    }
    EXPECT_EQ(c.snapshot().live_blocks(), 0u);
    EXPECT_EQ(c.snapshot().live_bytes(), 0u);
}

TEST(std_allocator, copy_assignment_takes_the_source_allocator) {
    counter c1, c2;
    {
        heapkit::vector<int, counter> v1({1, 2, 3}, counted<int>(c1));
        heapkit::vector<int, counter> v2({4, 5, 6, 7}, counted<int>(c2));
        v2 = v1;  // propagate_on_container_copy_assignment: v2 now uses c1
        EXPECT_TRUE(v2.get_allocator() == v1.get_allocator());
        EXPECT_EQ(&v2.get_allocator().resource(), &c1);
        EXPECT_EQ(c2.snapshot().live_blocks(), 0u) << "v2's old buffer went back to c2";
        EXPECT_EQ(c2.snapshot().deallocations, 1u);
        EXPECT_EQ(c1.snapshot().live_blocks(), 2u);
        EXPECT_EQ(v2, v1);
    }
    EXPECT_EQ(c1.snapshot().live_blocks(), 0u);
    EXPECT_EQ(c1.snapshot().live_bytes(), 0u);
    EXPECT_EQ(c2.snapshot().live_bytes(), 0u);
    EXPECT_EQ(c1.snapshot().allocations, 2u);
    EXPECT_EQ(c2.snapshot().allocations, 1u);
}

TEST(std_allocator, move_assignment_takes_the_buffer_and_its_allocator) {
    counter c1, c2;
    {
        heapkit::vector<int, counter> v1({1, 2, 3}, counted<int>(c1));
        heapkit::vector<int, counter> v2({4, 5}, counted<int>(c2));
        const int* buffer = v1.data();
        v2 = std::move(v1);  // propagate_on_container_move_assignment: no copy
        EXPECT_EQ(v2.data(), buffer);
        EXPECT_EQ(&v2.get_allocator().resource(), &c1);
        EXPECT_EQ(c1.snapshot().allocations, 1u);
        EXPECT_EQ(c2.snapshot().live_blocks(), 0u);
    }
    EXPECT_EQ(c1.snapshot().live_bytes(), 0u);
    EXPECT_EQ(c1.snapshot().deallocations, 1u);
    EXPECT_EQ(c2.snapshot().live_bytes(), 0u);
}

TEST(std_allocator, swap_exchanges_allocators_so_each_buffer_returns_home) {
    counter c1, c2;
    auto v2 = std::make_unique<heapkit::vector<int, counter>>(std::initializer_list<int>{4, 5, 6, 7}, counted<int>(c2));
    {
        heapkit::vector<int, counter> v1({1, 2, 3}, counted<int>(c1));
        std::swap(v1, *v2);
        EXPECT_EQ(&v1.get_allocator().resource(), &c2);
        EXPECT_EQ(&v2->get_allocator().resource(), &c1);
        EXPECT_EQ(v1.size(), 4u);
    }
    // v1 held c2's buffer: destroying it freed into c2, not c1
    EXPECT_EQ(c2.snapshot().live_blocks(), 0u);
    EXPECT_EQ(c2.snapshot().live_bytes(), 0u);
    EXPECT_EQ(c1.snapshot().live_blocks(), 1u);
    EXPECT_EQ(c1.snapshot().live_bytes(), 3 * sizeof(int));
    v2.reset();
    EXPECT_EQ(c1.snapshot().live_bytes(), 0u);
    EXPECT_EQ(c1.snapshot().deallocations, 1u);
}

TEST(std_allocator, list_splice_after_swap_frees_into_the_right_allocator) {
    counter c1, c2;
    {
        heapkit::list<int, counter> a({1, 2}, counted<int>(c1));
        heapkit::list<int, counter> b({3, 4, 5}, counted<int>(c2));
        a.swap(b);
        a.push_back(6);  // a now uses c2
        EXPECT_EQ(c2.snapshot().live_blocks(), 4u);
        EXPECT_EQ(c1.snapshot().live_blocks(), 2u);
    }
    EXPECT_EQ(c1.snapshot().live_bytes(), 0u);
    EXPECT_EQ(c2.snapshot().live_bytes(), 0u);
}

TEST(std_allocator, equality_follows_the_referenced_allocator) {
    counter c1, c2;
    const counted<int> a1(c1), a1b(c1), a2(c2);
    const counted<double> d1(c1);
    EXPECT_TRUE(a1 == a1b);
    EXPECT_TRUE(a1 == d1);  // another value type, same allocator
    EXPECT_FALSE(a1 == a2);
    EXPECT_TRUE(a1 != a2);
    static_assert(!std::allocator_traits<counted<int>>::is_always_equal::value);
}

TEST(std_allocator, rebind_keeps_the_allocator) {
    counter c;
    using traits = std::allocator_traits<counted<int>>;
    static_assert(std::is_same_v<traits::rebind_alloc<double>, counted<double>>);
    const counted<int> a(c);
    const traits::rebind_alloc<double> d(a);
    EXPECT_EQ(&d.resource(), &c);
    EXPECT_TRUE(d == a);
    counted<double> dd(d);
    double* p = dd.allocate(3);
    EXPECT_TRUE(heapkit::is_aligned(p, alignof(double)));
    EXPECT_EQ(c.snapshot().bytes_allocated, 3 * sizeof(double));
    dd.deallocate(p, 3);
    EXPECT_EQ(c.snapshot().live_bytes(), 0u);
}

TEST(std_allocator, overflowing_count_throws_bad_array_new_length) {
    counter c;
    counted<std::uint64_t> a(c);
    EXPECT_THROW((void)a.allocate(SIZE_MAX / 4), std::bad_array_new_length);
    EXPECT_THROW((void)a.allocate(static_cast<std::size_t>(PTRDIFF_MAX) / 8 + 1), std::bad_array_new_length);
    EXPECT_EQ(c.snapshot().calls(), 0u) << "the allocator is not asked at all";
}

TEST(std_allocator, out_of_memory_throws_bad_alloc) {
    heapkit::null n;
    std_allocator<int, heapkit::null> a(n);
    EXPECT_THROW((void)a.allocate(1), std::bad_alloc);
    heapkit::vector<int, heapkit::null> v{a};
    EXPECT_THROW(v.push_back(1), std::bad_alloc);
    EXPECT_TRUE(v.empty());

    // a failure midway leaves the container as it was (strong guarantee)
    heapkit::failure_policy p;
    p.fail_at = 1;
    heapkit::failing<heapkit::system> f(p);
    heapkit::vector<int, heapkit::failing<heapkit::system>> w{std_allocator<int, heapkit::failing<heapkit::system>>(f)};
    w.reserve(2);
    w.push_back(1);
    w.push_back(2);
    EXPECT_THROW(w.push_back(3), std::bad_alloc);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[0], 1);
    EXPECT_EQ(w[1], 2);
    EXPECT_EQ(f.failures(), 1u);
}

TEST(std_allocator, over_aligned_types_are_aligned) {
    struct alignas(128) wide {
        char bytes[128];
    };
    counter c;
    heapkit::vector<wide, counter> v{counted<wide>(c)};
    v.resize(3);
    EXPECT_TRUE(heapkit::is_aligned(v.data(), 128));
}

// ---- memory_resource ----

TEST(memory_resource, pmr_containers_draw_on_the_allocator) {
    heapkit::memory_resource<counter> r;
    {
        std::pmr::vector<int> v(&r);
        v.reserve(50);
        EXPECT_EQ(r.allocator().snapshot().allocations, 1u);
        EXPECT_EQ(r.allocator().snapshot().bytes_allocated, 50 * sizeof(int));

        std::pmr::map<int, std::pmr::string> m(&r);
        m.try_emplace(1, 100, 'a');  // node and string both from r (uses-allocator construction)
        EXPECT_EQ(m.at(1).get_allocator().resource(), &r);
        EXPECT_EQ(r.allocator().snapshot().live_blocks(), 3u);
    }
    EXPECT_EQ(r.allocator().snapshot().live_blocks(), 0u);
    EXPECT_EQ(r.allocator().snapshot().live_bytes(), 0u);
}

TEST(memory_resource, equal_only_to_itself) {
    heapkit::memory_resource<counter> r1, r2;
    EXPECT_TRUE(r1.is_equal(r1));
    EXPECT_FALSE(r1.is_equal(r2));
    EXPECT_FALSE(r1.is_equal(*std::pmr::new_delete_resource()));
    EXPECT_TRUE(r1 == r1);
    EXPECT_TRUE(r1 != r2);
}

TEST(memory_resource, failure_throws_bad_alloc) {
    heapkit::memory_resource<heapkit::null> r;
    EXPECT_THROW((void)r.allocate(8), std::bad_alloc);
    std::pmr::vector<int> v(&r);
    EXPECT_THROW(v.push_back(1), std::bad_alloc);

    heapkit::memory_resource<counter> ok;
    EXPECT_THROW((void)ok.allocate(8, 3), std::bad_alloc) << "alignment that is not a power of two";
    EXPECT_EQ(ok.allocator().snapshot().calls(), 0u);
}

TEST(memory_resource, alignment_is_honoured) {
    heapkit::memory_resource<counter> r;
    for (std::size_t align : {std::size_t{1}, std::size_t{16}, std::size_t{64}, std::size_t{4096}}) {
        void* p = r.allocate(100, align);
        EXPECT_TRUE(heapkit::is_aligned(p, align)) << "align " << align;
        std::memset(p, 0x3c, 100);
        r.deallocate(p, 100, align);
    }
    EXPECT_EQ(r.allocator().snapshot().allocations, 4u);
    EXPECT_EQ(r.allocator().snapshot().live_bytes(), 0u);
}

TEST(memory_resource, in_place_builds_the_allocator) {
    heapkit::failure_policy p;
    p.fail_at = 1;
    heapkit::memory_resource<heapkit::failing<heapkit::system>> r(std::in_place, p);
    std::pmr::vector<int> v(&r);
    v.reserve(1);
    v.push_back(1);
    EXPECT_THROW(v.push_back(2), std::bad_alloc);
    EXPECT_EQ(v.size(), 1u);
    EXPECT_EQ(r.allocator().failures(), 1u);
}

// ---- make_unique_in / try_make_unique_in ----

struct throws_on_construction {
    explicit throws_on_construction(int) { throw std::runtime_error("constructor failed"); }
};

struct alignas(64) cache_line {
    int value;
    explicit cache_line(int v) : value(v) {}
};

TEST(make_unique_in, constructs_in_the_allocator_and_frees_into_it) {
    counter c;
    {
        auto p = heapkit::make_unique_in<std::pair<int, double>>(c, 3, 4.5);
        EXPECT_EQ(p->first, 3);
        EXPECT_EQ(p->second, 4.5);
        EXPECT_EQ(&p.get_deleter().resource(), &c);
        const counting_snapshot s = c.snapshot();
        EXPECT_EQ(s.allocations, 1u);
        EXPECT_EQ(s.bytes_allocated, sizeof(std::pair<int, double>));
    }
    EXPECT_EQ(c.snapshot().deallocations, 1u);
    EXPECT_EQ(c.snapshot().live_bytes(), 0u);
}

TEST(make_unique_in, over_aligned_type_is_aligned) {
    counter c;
    auto p = heapkit::make_unique_in<cache_line>(c, 7);
    EXPECT_TRUE(heapkit::is_aligned(p.get(), 64));
    EXPECT_EQ(p->value, 7);
}

TEST(make_unique_in, storage_is_freed_when_the_constructor_throws) {
    counter c;
    EXPECT_THROW((void)heapkit::make_unique_in<throws_on_construction>(c, 1), std::runtime_error);
    EXPECT_THROW((void)heapkit::try_make_unique_in<throws_on_construction>(c, 1), std::runtime_error);
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(s.allocations, 2u);
    EXPECT_EQ(s.deallocations, 2u);
    EXPECT_EQ(s.live_bytes(), 0u);
}

TEST(make_unique_in, out_of_memory_throws_or_returns_empty) {
    heapkit::null n;
    EXPECT_THROW((void)heapkit::make_unique_in<int>(n, 1), std::bad_alloc);
    auto p = heapkit::try_make_unique_in<int>(n, 1);  // an exception here fails the test
    EXPECT_EQ(p, nullptr);
    EXPECT_EQ(&p.get_deleter().resource(), &n);
}

TEST(make_unique_in, try_succeeds_when_memory_is_there) {
    counter c;
    auto p = heapkit::try_make_unique_in<std::string>(c, "hello");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, "hello");
    p.reset();
    EXPECT_EQ(c.snapshot().live_bytes(), 0u);
    EXPECT_EQ(c.snapshot().allocations, 1u);
}

}  // namespace
