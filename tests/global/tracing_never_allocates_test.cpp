// Proof that heapkit::tracing never allocates: it is registered as the
// process's allocator for operator new and the whole malloc family, under a
// guard that aborts if a call re-enters it on the same thread. If tracing (or
// anything beneath it) allocated through the global heap, the allocation would
// come back into the guard and the process would die. The test then checks
// that tracing wrote exactly one line per call the guard saw, of each kind.
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/tracing.hpp>
#include <heapkit/global.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

namespace {

// How deep the calling thread is inside any reentry_guard. A plain integer
// in static TLS: reading it never allocates.
constinit thread_local int guard_depth = 0;

// Marks one call into a guard; aborts with a message when the thread is
// already inside one.
class guard_scope {
public:
    explicit guard_scope(const char* op) noexcept {
        if (guard_depth++ != 0) {
            heapkit::detail::line_buffer<160> line;
            line.text("reentry_guard: ").text(op).text(" re-entered: the allocator under the guard allocated ");
            line.text("through the global heap\n");
            (void)line.write_to(2);
            std::abort();
        }
    }
    ~guard_scope() { --guard_depth; }
    guard_scope(const guard_scope&) = delete;
    guard_scope& operator=(const guard_scope&) = delete;
};

// How many calls of each kind a guard saw.
struct call_counts {
    std::size_t alloc = 0, alloc_zeroed = 0, grow = 0, shrink = 0, dealloc = 0, failed = 0;
    std::size_t total() const { return alloc + alloc_zeroed + grow + shrink + dealloc; }
};

// Forwards every call to A, counts it, and aborts if A re-enters any guard.
template <heapkit::allocator A>
class reentry_guard {
public:
    template <class... Args>
    constexpr explicit reentry_guard(std::in_place_t, Args&&... args) noexcept : inner_(static_cast<Args&&>(args)...) {}

    A& inner() noexcept { return inner_; }

    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        guard_scope scope("allocate");
        alloc_.fetch_add(1, std::memory_order_relaxed);
        return note(inner_.allocate(l));
    }
    heapkit::memory_block allocate_zeroed(heapkit::layout l) noexcept {
        guard_scope scope("allocate_zeroed");
        alloc_zeroed_.fetch_add(1, std::memory_order_relaxed);
        return note(heapkit::allocate_zeroed(inner_, l));
    }
    void deallocate(void* p, heapkit::layout l) noexcept {
        guard_scope scope("deallocate");
        dealloc_.fetch_add(1, std::memory_order_relaxed);
        inner_.deallocate(p, l);
    }
    heapkit::memory_block grow(void* p, heapkit::layout o, heapkit::layout n) noexcept {
        guard_scope scope("grow");
        grow_.fetch_add(1, std::memory_order_relaxed);
        return note(heapkit::grow(inner_, p, o, n));
    }
    heapkit::memory_block shrink(void* p, heapkit::layout o, heapkit::layout n) noexcept {
        guard_scope scope("shrink");
        shrink_.fetch_add(1, std::memory_order_relaxed);
        return note(heapkit::shrink(inner_, p, o, n));
    }

    call_counts counts() const noexcept {
        call_counts c;
        c.alloc = alloc_.load(std::memory_order_relaxed);
        c.alloc_zeroed = alloc_zeroed_.load(std::memory_order_relaxed);
        c.grow = grow_.load(std::memory_order_relaxed);
        c.shrink = shrink_.load(std::memory_order_relaxed);
        c.dealloc = dealloc_.load(std::memory_order_relaxed);
        c.failed = failed_.load(std::memory_order_relaxed);
        return c;
    }

private:
    heapkit::memory_block note(heapkit::memory_block b) noexcept {
        if (!b) failed_.fetch_add(1, std::memory_order_relaxed);
        return b;
    }

    A inner_;
    std::atomic<std::size_t> alloc_{0}, alloc_zeroed_{0}, grow_{0}, shrink_{0}, dealloc_{0}, failed_{0};
};

// Silent until the test gives it a file.
constinit reentry_guard<heapkit::tracing<heapkit::libc>> global_allocator(std::in_place, -1);

}  // namespace

HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(global_allocator);

namespace {

call_counts since(const call_counts& now, const call_counts& before) {
    call_counts d;
    d.alloc = now.alloc - before.alloc;
    d.alloc_zeroed = now.alloc_zeroed - before.alloc_zeroed;
    d.grow = now.grow - before.grow;
    d.shrink = now.shrink - before.shrink;
    d.dealloc = now.dealloc - before.dealloc;
    d.failed = now.failed - before.failed;
    return d;
}

template <class T>
T opaque(T v) {
    volatile T x = v;
    return x;
}

struct alignas(256) wide {
    unsigned char bytes[300];
};

// Allocates in every way a program can.
void workload() {
    const std::nothrow_t& nt = std::nothrow;
    const std::align_val_t al{128};
    // the 20 forms of operator new and delete
    ::operator delete(::operator new(10));
    ::operator delete (::operator new(10), std::size_t{10});
    ::operator delete(::operator new(10, nt), nt);
    ::operator delete[](::operator new[](10));
    ::operator delete[](::operator new[](10), std::size_t{10});
    ::operator delete[](::operator new[](10, nt), nt);
    ::operator delete(::operator new(10, al), al);
    ::operator delete (::operator new(10, al), std::size_t{10}, al);
    ::operator delete(::operator new(10, al, nt), al, nt);
    ::operator delete[](::operator new[](10, al), al);
    ::operator delete[](::operator new[](10, al), std::size_t{10}, al);
    ::operator delete[](::operator new[](10, al, nt), al, nt);
    delete new int(1);
    delete[] new std::string[3];
    delete new wide();

    // the malloc family
    std::free(std::malloc(100));
    std::free(std::malloc(0));
    std::free(std::calloc(10, 10));
    void* r = std::realloc(nullptr, 10);
    r = std::realloc(r, 100000);    // grow
    r = std::realloc(r, 50);        // shrink
    std::free(std::realloc(r, 0));  // frees r, returns NULL
    void* ra = reallocarray(nullptr, 10, 8);
    ra = reallocarray(ra, 20, 8);
    std::free(ra);
    void* pm = nullptr;
    if (posix_memalign(&pm, 64, 100) == 0) std::free(pm);
    std::free(aligned_alloc(4096, 4096));
    std::free(memalign(32, 7));
    std::free(valloc(10));
    std::free(pvalloc(10));
    void* u = std::malloc(33);
    (void)malloc_usable_size(u);
    std::free(u);
    // failures are traced too
    std::free(std::malloc(opaque(std::size_t{1} << 50)));
    (void)::operator new(opaque(std::size_t{1} << 50), nt);

    // what libc allocates on its own
    std::free(strdup("a string libc copies"));
    char text[] = "line one\nline two\n";
    if (FILE* f = fmemopen(text, std::strlen(text), "r")) {
        char* line = nullptr;
        std::size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
        }
        std::free(line);
        std::fclose(f);
    }

    // the standard library
    std::vector<int> v;
    for (int i = 0; i < 1000; ++i) v.push_back(i);
    std::string s;
    for (int i = 0; i < 100; ++i) s += "text that grows ";
    std::map<int, std::string> m;
    for (int i = 0; i < 50; ++i) m[i] = std::to_string(i) + std::string(40, 'x');
    std::unordered_map<std::string, int> h;
    for (int i = 0; i < 50; ++i) h["key" + std::to_string(i * 1000)] = i;
    std::list<double> l(20, 1.5);
    auto sp = std::make_shared<std::vector<std::string>>(10, std::string(64, 'y'));
    std::array<char, 200> big_capture{};
    std::function<int()> fn = [big_capture] { return static_cast<int>(big_capture.size()); };
    (void)fn();
    std::ostringstream os;
    os << "pi is about " << 3.14159 << " and " << 42 << std::string(300, 'z');
    (void)os.str();
    try {
        throw std::runtime_error(std::string(100, 'e'));  // the exception object comes from malloc
    } catch (const std::exception& e) {
        (void)e.what();
    }
    std::thread worker([] {
        std::vector<std::string> w(30, std::string(50, 'w'));
        std::free(std::malloc(77));
    });
    worker.join();
}

int open_log() { return ::open(::testing::TempDir().c_str(), O_TMPFILE | O_RDWR | O_APPEND | O_CLOEXEC, 0600); }

std::string read_all(int fd) {
    const off_t size = ::lseek(fd, 0, SEEK_END);
    std::string text(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
    if (!text.empty() && ::pread(fd, text.data(), text.size(), 0) != size) text = "<read failed>";
    return text;
}

TEST(tracing_never_allocates, every_call_is_traced_without_reentry) {
    const int fd = open_log();
    ASSERT_GE(fd, 0) << "O_TMPFILE in " << ::testing::TempDir() << ": errno " << errno;

    const call_counts before = global_allocator.counts();
    global_allocator.inner().set_fd(fd);
    workload();  // any allocation inside tracing would have aborted the process
    global_allocator.inner().set_fd(-1);
    const call_counts calls = since(global_allocator.counts(), before);

    const std::string text = read_all(fd);
    ::close(fd);
    ASSERT_FALSE(text.empty());
    ASSERT_EQ(text.back(), '\n');

    const std::regex alloc_re(R"(heapkit: (alloc|alloc_zeroed) size=[0-9]+ align=[0-9]+ -> (0x[0-9a-f]+|failed))");
    const std::regex resize_re(
        R"(heapkit: (grow|shrink) 0x[0-9a-f]+ size=[0-9]+ -> [0-9]+ align=[0-9]+ -> (0x[0-9a-f]+|failed))");
    const std::regex dealloc_re(R"(heapkit: dealloc 0x[0-9a-f]+ size=[0-9]+ align=[0-9]+)");
    call_counts lines;
    std::size_t total_lines = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        ++total_lines;
        std::smatch m;
        if (std::regex_match(line, m, alloc_re)) {
            (m[1] == "alloc" ? lines.alloc : lines.alloc_zeroed)++;
            if (m[2] == "failed") ++lines.failed;
        } else if (std::regex_match(line, m, resize_re)) {
            (m[1] == "grow" ? lines.grow : lines.shrink)++;
            if (m[2] == "failed") ++lines.failed;
        } else if (std::regex_match(line, dealloc_re)) {
            ++lines.dealloc;
        } else {
            ADD_FAILURE() << "malformed line: " << line;
        }
    }

    EXPECT_GT(calls.total(), 200u) << "the workload should make many calls";
    EXPECT_EQ(total_lines, calls.total());
    EXPECT_EQ(lines.alloc, calls.alloc);
    EXPECT_EQ(lines.alloc_zeroed, calls.alloc_zeroed);
    EXPECT_EQ(lines.grow, calls.grow);
    EXPECT_EQ(lines.shrink, calls.shrink);
    EXPECT_EQ(lines.dealloc, calls.dealloc);
    EXPECT_EQ(lines.failed, calls.failed);
    // every kind of call was exercised
    EXPECT_GT(calls.alloc_zeroed, 0u);
    EXPECT_GT(calls.grow, 0u);
    EXPECT_GT(calls.shrink, 0u);
    EXPECT_GE(calls.failed, 2u);
}

// The guard itself works: an allocator that allocates through the global heap
// inside its own allocate is caught on the spot.
struct allocates_inside {
    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        std::free(std::malloc(8));  // comes back into the registered guard
        return heapkit::libc{}.allocate(l);
    }
    void deallocate(void* p, heapkit::layout l) noexcept { heapkit::libc{}.deallocate(p, l); }
};

TEST(tracing_never_allocates_death, the_guard_catches_an_allocating_allocator) {
    EXPECT_DEATH(
        {
            reentry_guard<allocates_inside> g(std::in_place);
            heapkit::memory_block b = g.allocate(*heapkit::layout::from(16, 8));
            g.deallocate(b.ptr, *heapkit::layout::from(16, 8));
        },
        "reentry_guard: allocate re-entered");
}

}  // namespace
