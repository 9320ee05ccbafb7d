// HEAPKIT_GLOBAL_ALLOCATOR: every replaceable operator new and delete goes
// through the registered allocator; alignment, new(0), the new_handler loop,
// bad_alloc and the nothrow forms follow the standard; misuse of delete dies
// with a message that says what went wrong.
//
// The registered allocator is counting<limited>: `limited` fails any request
// that would take its live bytes above a limit the tests can lower, so
// failures can be switched on and off.
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/global.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

// heapkit::system with a ceiling on live bytes (SIZE_MAX: no ceiling).
class limited {
public:
    constexpr limited() noexcept = default;

    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        const std::size_t live = live_.fetch_add(l.size(), std::memory_order_relaxed) + l.size();
        if (live > limit_.load(std::memory_order_relaxed)) {
            live_.fetch_sub(l.size(), std::memory_order_relaxed);
            return {};
        }
        heapkit::memory_block b = inner_.allocate(l);
        if (!b) live_.fetch_sub(l.size(), std::memory_order_relaxed);
        return b;
    }
    void deallocate(void* p, heapkit::layout l) noexcept {
        inner_.deallocate(p, l);
        live_.fetch_sub(l.size(), std::memory_order_relaxed);
    }

    std::size_t live() const noexcept { return live_.load(std::memory_order_relaxed); }
    void set_limit(std::size_t n) noexcept { limit_.store(n, std::memory_order_relaxed); }

private:
    heapkit::system inner_;
    std::atomic<std::size_t> live_{0};
    std::atomic<std::size_t> limit_{SIZE_MAX};
};

constinit heapkit::counting<limited> global_allocator;

}  // namespace

HEAPKIT_GLOBAL_ALLOCATOR(global_allocator);

namespace {

using heapkit::counting_snapshot;

constexpr std::size_t header = 16;  // see global.hpp: H = max(16, align)

std::size_t block_size(std::size_t n, std::size_t align) { return n + (align > header ? align : header); }

// Lowers the limit for the lifetime of the object; nothing else in the test
// may allocate meanwhile (a failing assertion would).
class out_of_memory {
public:
    explicit out_of_memory(std::size_t headroom = 0) {
        global_allocator.inner().set_limit(global_allocator.inner().live() + headroom);
    }
    ~out_of_memory() { global_allocator.inner().set_limit(SIZE_MAX); }
    out_of_memory(const out_of_memory&) = delete;
    out_of_memory& operator=(const out_of_memory&) = delete;
};

// One new form paired with one delete form: both must reach the allocator,
// and the block size must be the documented request plus header.
struct pair_result {
    counting_snapshot after_new, after_delete;
    bool aligned = false;
};

template <class New, class Delete>
pair_result run_pair(New make, Delete release, std::size_t align) {
    const counting_snapshot before = global_allocator.snapshot();
    void* p = make();
    pair_result r;
    r.after_new = global_allocator.snapshot().since(before);
    r.aligned = p != nullptr && heapkit::is_aligned(p, align);
    if (p != nullptr) std::memset(p, 0x5a, 40);
    release(p);
    r.after_delete = global_allocator.snapshot().since(before);
    return r;
}

void expect_through_allocator(const pair_result& r, std::size_t bytes, const char* form) {
    EXPECT_TRUE(r.aligned) << form;
    EXPECT_EQ(r.after_new.allocations, 1u) << form;
    EXPECT_EQ(r.after_new.deallocations, 0u) << form;
    EXPECT_EQ(r.after_new.bytes_allocated, bytes) << form;
    EXPECT_EQ(r.after_delete.allocations, 1u) << form;
    EXPECT_EQ(r.after_delete.deallocations, 1u) << form;
    EXPECT_EQ(r.after_delete.bytes_freed, bytes) << form;
}

constexpr std::size_t n = 40;
constexpr std::align_val_t al{256};

TEST(global_new, all_twenty_forms_go_through_the_allocator) {
    const std::size_t plain = block_size(n, 16);
    const std::size_t wide = block_size(n, 256);
    const std::nothrow_t& nt = std::nothrow;
    // 8 forms of new and 12 of delete, each used at least once.
    expect_through_allocator(run_pair([] { return ::operator new(n); }, [](void* p) { ::operator delete(p); }, 16),
                             plain, "new(n) / delete(p)");
    expect_through_allocator(run_pair([] { return ::operator new(n); }, [](void* p) { ::operator delete(p, n); }, 16),
                             plain, "new(n) / delete(p, n)");
    expect_through_allocator(
        run_pair([&] { return ::operator new(n, nt); }, [&](void* p) { ::operator delete(p, nt); }, 16), plain,
        "new(n, nothrow) / delete(p, nothrow)");
    expect_through_allocator(run_pair([] { return ::operator new[](n); }, [](void* p) { ::operator delete[](p); }, 16),
                             plain, "new[](n) / delete[](p)");
    expect_through_allocator(
        run_pair([] { return ::operator new[](n); }, [](void* p) { ::operator delete[](p, n); }, 16), plain,
        "new[](n) / delete[](p, n)");
    expect_through_allocator(
        run_pair([&] { return ::operator new[](n, nt); }, [&](void* p) { ::operator delete[](p, nt); }, 16), plain,
        "new[](n, nothrow) / delete[](p, nothrow)");
    expect_through_allocator(
        run_pair([] { return ::operator new(n, al); }, [](void* p) { ::operator delete(p, al); }, 256), wide,
        "new(n, al) / delete(p, al)");
    expect_through_allocator(
        run_pair([] { return ::operator new(n, al); }, [](void* p) { ::operator delete(p, n, al); }, 256), wide,
        "new(n, al) / delete(p, n, al)");
    expect_through_allocator(
        run_pair([&] { return ::operator new(n, al, nt); }, [&](void* p) { ::operator delete(p, al, nt); }, 256), wide,
        "new(n, al, nothrow) / delete(p, al, nothrow)");
    expect_through_allocator(
        run_pair([] { return ::operator new[](n, al); }, [](void* p) { ::operator delete[](p, al); }, 256), wide,
        "new[](n, al) / delete[](p, al)");
    expect_through_allocator(
        run_pair([] { return ::operator new[](n, al); }, [](void* p) { ::operator delete[](p, n, al); }, 256), wide,
        "new[](n, al) / delete[](p, n, al)");
    expect_through_allocator(
        run_pair([&] { return ::operator new[](n, al, nt); }, [&](void* p) { ::operator delete[](p, al, nt); }, 256),
        wide, "new[](n, al, nothrow) / delete[](p, al, nothrow)");
}

struct alignas(4096) page_aligned {
    unsigned char bytes[100];
};

TEST(global_new, new_expressions_and_the_standard_library_go_through_it) {
    const counting_snapshot before = global_allocator.snapshot();
    int* one = new int(5);
    int* many = new int[10]();        // trivially destructible: no array cookie
    auto* page = new page_aligned();  // operator new(size, align_val_t)
    const counting_snapshot own = global_allocator.snapshot().since(before);
    EXPECT_TRUE(heapkit::is_aligned(page, 4096));
    EXPECT_EQ(own.allocations, 3u);
    EXPECT_EQ(own.bytes_allocated,
              block_size(sizeof(int), 16) + block_size(10 * sizeof(int), 16) + block_size(sizeof(page_aligned), 4096));
    delete one;
    delete[] many;
    delete page;  // sized, aligned delete
    const counting_snapshot own_freed = global_allocator.snapshot().since(before);
    EXPECT_EQ(own_freed.deallocations, 3u);
    EXPECT_EQ(own_freed.live_bytes(), 0u);

    // The standard library's allocations come here too, and all go back.
    {
        std::vector<std::string> strings(3, std::string(100, 'q'));
        auto shared = std::make_shared<std::map<int, int>>();
        (*shared)[1] = 2;
        // at least the vector's buffer, three strings, the shared object and a map node
        EXPECT_GE(global_allocator.snapshot().since(own_freed).live_blocks(), 6u);
    }
    const counting_snapshot end = global_allocator.snapshot().since(before);
    EXPECT_EQ(end.allocations, end.deallocations);
    EXPECT_EQ(end.live_bytes(), 0u);
}

TEST(global_new, aligned_new_honours_every_alignment) {
    for (std::size_t a = 1; a <= (std::size_t{1} << 20); a *= 2) {
        for (std::size_t size : {std::size_t{0}, std::size_t{1}, a, 3 * a + 5}) {
            void* p = ::operator new (size, std::align_val_t{a});
            ASSERT_NE(p, nullptr);
            EXPECT_TRUE(heapkit::is_aligned(p, a)) << "size " << size << " align " << a << " got " << p;
            if (size != 0) std::memset(p, 0x77, size);
            ::operator delete (p, size, std::align_val_t{a});
        }
    }
}

TEST(global_new, new_of_zero_bytes_is_unique_and_non_null) {
    void* a = ::operator new(0);
    void* b = ::operator new(0);
    void* c = ::operator new[](0);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(c, nullptr);
    EXPECT_NE(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(b, c);
    EXPECT_TRUE(heapkit::is_aligned(a, __STDCPP_DEFAULT_NEW_ALIGNMENT__));
    ::operator delete(a);
    ::operator delete (b, std::size_t{0});
    ::operator delete[](c);
}

// ---- failure: the new_handler loop, bad_alloc, nothrow ----

char* reserve = nullptr;  // memory a handler can give back
int handler_calls = 0;

// The classic handler: give back the reserve; with nothing left to give,
// uninstall itself so that operator new throws.
void free_reserve() {
    ++handler_calls;
    if (reserve != nullptr) {
        delete[] reserve;
        reserve = nullptr;
    } else {
        std::set_new_handler(nullptr);
    }
}

constexpr std::size_t reserve_size = 1 << 20;

TEST(global_new, a_handler_that_frees_the_reserve_lets_new_succeed) {
    reserve = new char[reserve_size];
    handler_calls = 0;
    std::set_new_handler(free_reserve);
    void* p = nullptr;
    bool threw = false;
    {
        out_of_memory oom(4096);  // the reserve fits inside the limit only once freed
        try {
            p = ::operator new(reserve_size / 2);
        } catch (const std::bad_alloc&) {
            threw = true;
        }
    }
    std::set_new_handler(nullptr);
    EXPECT_FALSE(threw);
    EXPECT_NE(p, nullptr);
    EXPECT_EQ(handler_calls, 1);
    EXPECT_EQ(reserve, nullptr);
    ::operator delete(p);
}

TEST(global_new, a_handler_that_gives_up_makes_new_throw) {
    reserve = nullptr;
    handler_calls = 0;
    std::set_new_handler(free_reserve);
    bool threw = false;
    {
        out_of_memory oom;
        try {
            void* p = ::operator new(64);
            ::operator delete(p);
        } catch (const std::bad_alloc&) {
            threw = true;
        }
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(handler_calls, 1);
    EXPECT_EQ(std::get_new_handler(), nullptr) << "the handler uninstalled itself";
}

void raise_limit_on_third_call() {
    if (++handler_calls == 3) global_allocator.inner().set_limit(SIZE_MAX);
}

TEST(global_new, the_handler_is_called_until_new_succeeds) {
    handler_calls = 0;
    std::set_new_handler(raise_limit_on_third_call);
    void* p = nullptr;
    {
        out_of_memory oom;
        p = ::operator new (128, std::align_val_t{64});
    }
    std::set_new_handler(nullptr);
    EXPECT_EQ(handler_calls, 3);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(heapkit::is_aligned(p, 64));
    ::operator delete (p, std::align_val_t{64});
}

TEST(global_new, without_a_handler_every_throwing_form_throws_bad_alloc) {
    std::set_new_handler(nullptr);
    const counting_snapshot before = global_allocator.snapshot();
    int thrown = 0;
    {
        out_of_memory oom;
        try {
            (void)::operator new(8);
        } catch (const std::bad_alloc&) {
            ++thrown;
        }
        try {
            (void)::operator new[](8);
        } catch (const std::bad_alloc&) {
            ++thrown;
        }
        try {
            (void)::operator new (8, std::align_val_t{128});
        } catch (const std::bad_alloc&) {
            ++thrown;
        }
        try {
            (void)::operator new[](8, std::align_val_t{128});
        } catch (const std::bad_alloc&) {
            ++thrown;
        }
        try {
            (void)new int(1);
        } catch (const std::bad_alloc&) {
            ++thrown;
        }
    }
    EXPECT_EQ(thrown, 5);
    EXPECT_EQ(global_allocator.snapshot().since(before).failures, 5u);
}

TEST(global_new, a_size_no_machine_has_throws_bad_alloc) {
    std::set_new_handler(nullptr);
    volatile std::size_t max = SIZE_MAX;  // hidden from the compiler's size checks
    EXPECT_THROW((void)::operator new(max), std::bad_alloc);
    EXPECT_THROW((void)::operator new (max - 8, std::align_val_t{64}), std::bad_alloc);
    EXPECT_EQ(::operator new(max / 2, std::nothrow), nullptr);
    const std::size_t half = max / 2;
    EXPECT_THROW((void)new char[half], std::bad_alloc);
}

TEST(global_new, nothrow_forms_return_null) {
    std::set_new_handler(nullptr);
    void* results[4] = {};
    {
        out_of_memory oom;
        results[0] = ::operator new(8, std::nothrow);
        results[1] = ::operator new[](8, std::nothrow);
        results[2] = ::operator new (8, std::align_val_t{64}, std::nothrow);
        results[3] = ::operator new[](8, std::align_val_t{64}, std::nothrow);
    }
    for (void* r : results) EXPECT_EQ(r, nullptr);
    int* q = new (std::nothrow) int(3);  // and they work again afterwards
    ASSERT_NE(q, nullptr);
    delete q;
}

TEST(global_new, nothrow_forms_call_the_handler_too) {
    reserve = new char[reserve_size];
    handler_calls = 0;
    std::set_new_handler(free_reserve);
    void* p = nullptr;
    {
        out_of_memory oom(4096);
        p = ::operator new(reserve_size / 2, std::nothrow);
    }
    std::set_new_handler(nullptr);
    EXPECT_NE(p, nullptr);
    EXPECT_EQ(handler_calls, 1);
    ::operator delete(p, std::nothrow);
}

// ---- misuse of delete dies with a message ----

using global_new_death = ::testing::Test;

// Keeps the compiler from reasoning about (and warning on) deliberate misuse.
void* opaque(void* p) {
    void* volatile v = p;
    return v;
}

TEST(global_new_death, deleting_a_pointer_from_another_allocator_dies) {
    heapkit::libc libc;
    const auto l = *heapkit::layout::from(64, 16);
    void* foreign = libc.allocate(l).ptr;
    ASSERT_NE(foreign, nullptr);
    EXPECT_DEATH(::operator delete(opaque(foreign)),
                 "operator delete: pointer 0x[0-9a-f]+ was not allocated by heapkit");
    libc.deallocate(foreign, l);
}

TEST(global_new_death, deleting_a_stack_address_dies) {
    alignas(16) unsigned char stack[64];
    std::memset(stack, 0xa5, sizeof stack);
    EXPECT_DEATH(::operator delete(opaque(stack + 32)), "was not allocated by heapkit");
    EXPECT_DEATH(::operator delete(opaque(stack + 7)), "was not allocated by heapkit");  // misaligned
}

// Allocates, deletes, and deletes again. All in the death-test child: between
// a delete in the parent and the child, the parent's own allocations could
// take the block again, and the second delete would then be a legal one.
void delete_twice(std::size_t size) {
    void* p = ::operator new(size);
    void* again = opaque(p);
    ::operator delete(p);
    ::operator delete(again);
}

TEST(global_new_death, double_delete_dies) {
    // glibc reuses a freed chunk's first words for its free lists (the tcache
    // for small blocks, the unsorted bin for large ones), so the header may
    // read as cleared or as garbage: either way the message says "already freed".
    EXPECT_DEATH(delete_twice(24), "operator delete: pointer 0x[0-9a-f]+ .*already freed");
    EXPECT_DEATH(delete_twice(5000), "operator delete: pointer 0x[0-9a-f]+ .*already freed");
}

TEST(global_new_death, sized_delete_with_the_wrong_size_dies) {
    void* p = ::operator new(40);
    EXPECT_DEATH(::operator delete(opaque(p), 41), "freed with size 41 but allocated with 40");
    EXPECT_DEATH(::operator delete[](opaque(p), 8), "freed with size 8 but allocated with 40");
    ::operator delete(p, 40);
}

TEST(global_new_death, aligned_delete_with_the_wrong_alignment_dies) {
    void* p = ::operator new (40, std::align_val_t{64});
    EXPECT_DEATH(::operator delete (opaque(p), std::align_val_t{128}),
                 "freed with alignment 128 but allocated with 64");
    ::operator delete (p, std::align_val_t{64});
}

}  // namespace
