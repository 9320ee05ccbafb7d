// heapkit::tracing<A>: the conformance suite, and the lines it writes: one
// per call, in the format its header documents, to the descriptor it is given.
#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/failing.hpp>
#include <heapkit/compose/tracing.hpp>

#include "conformance.hpp"

#include <cerrno>
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {
// The conformance suite makes thousands of calls: their lines go to /dev/null
// (still formatted and written, so that path runs too).
int dev_null() {
    static const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    return fd;
}
}  // namespace

namespace heapkit::testing {
template <>
struct conformance_traits<tracing<system>> {
    static std::unique_ptr<tracing<system>> make() { return std::make_unique<tracing<system>>(dev_null()); }
    static constexpr std::size_t max_block = std::size_t{8} << 20;
    static constexpr std::size_t max_align = std::size_t{1} << 16;
    static constexpr bool always_fails = false;
};
template <>
struct conformance_traits<tracing<null>> {
    static std::unique_ptr<tracing<null>> make() { return std::make_unique<tracing<null>>(dev_null()); }
    static constexpr std::size_t max_block = 0;
    static constexpr std::size_t max_align = 1;
    static constexpr bool always_fails = true;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(tracing_system, heapkit::tracing<heapkit::system>);
HEAPKIT_CONFORMANCE(tracing_null, heapkit::tracing<heapkit::null>);

namespace {

using heapkit::layout;
using heapkit::memory_block;
using heapkit::tracing;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

// How tracing prints a pointer: 0x and lowercase hex digits, no padding.
std::string hex(std::uintptr_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}
std::string hex(const void* p) { return hex(reinterpret_cast<std::uintptr_t>(p)); }

// A pipe whose read end does not block: what was written so far can be read.
class pipe_capture {
public:
    pipe_capture() {
        if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    }
    ~pipe_capture() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    int write_fd() const { return fds_[1]; }
    // Everything written since the last call.
    std::string take() {
        std::string out;
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(fds_[0], buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

private:
    int fds_[2];
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start) + "<no newline>");
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

static_assert(std::is_trivially_destructible_v<tracing<heapkit::system>>);
constinit tracing<heapkit::system> constant_initialised(-1);
// A capability is offered exactly when the parent has it: a tracing<system>
// claims no stats (system keeps none), a tracing<counting<...>> does.
static_assert(!heapkit::has_stats<tracing<heapkit::system>>);
static_assert(heapkit::has_stats<tracing<heapkit::counting<heapkit::system>>>);
static_assert(!heapkit::has_owns<tracing<heapkit::system>>);
static_assert(heapkit::has_owns<tracing<heapkit::null>>);

TEST(tracing, writes_to_standard_error_by_default) {
    tracing<heapkit::system> t;
    EXPECT_EQ(t.fd(), 2);
    EXPECT_EQ(constant_initialised.fd(), -1);
}

TEST(tracing, alloc_line_has_size_align_and_result) {
    pipe_capture out;
    tracing<heapkit::system> t(out.write_fd());
    memory_block b = t.allocate(lay(24, 8));
    ASSERT_TRUE(b);
    EXPECT_EQ(out.take(), "heapkit: alloc size=24 align=8 -> " + hex(b.ptr) + "\n");
    t.deallocate(b.ptr, lay(24, 8));
    EXPECT_EQ(out.take(), "heapkit: dealloc " + hex(b.ptr) + " size=24 align=8\n");
}

TEST(tracing, alloc_zeroed_line_and_memory_is_zero) {
    pipe_capture out;
    tracing<heapkit::system> t(out.write_fd());
    memory_block b = t.allocate_zeroed(lay(64, 16));
    ASSERT_TRUE(b);
    const auto* c = static_cast<const unsigned char*>(b.ptr);
    for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(c[i], 0) << "byte " << i;
    EXPECT_EQ(out.take(), "heapkit: alloc_zeroed size=64 align=16 -> " + hex(b.ptr) + "\n");
    t.deallocate(b.ptr, lay(64, 16));
    EXPECT_EQ(out.take(), "heapkit: dealloc " + hex(b.ptr) + " size=64 align=16\n");
}

TEST(tracing, grow_and_shrink_lines_name_old_pointer_sizes_and_new_pointer) {
    pipe_capture out;
    tracing<heapkit::system> t(out.write_fd());
    memory_block b = t.allocate(lay(24));
    ASSERT_TRUE(b);
    (void)out.take();
    std::memset(b.ptr, 0x11, 24);

    // addresses are kept as numbers: after a move the old pointer is freed
    const std::string old_b = hex(b.ptr);
    memory_block g = t.grow(b.ptr, lay(24), lay(48));
    ASSERT_TRUE(g);
    EXPECT_EQ(out.take(), "heapkit: grow " + old_b + " size=24 -> 48 align=8 -> " + hex(g.ptr) + "\n");

    const std::string old_g = hex(g.ptr);
    memory_block s = t.shrink(g.ptr, lay(48), lay(10));
    ASSERT_TRUE(s);
    EXPECT_EQ(out.take(), "heapkit: shrink " + old_g + " size=48 -> 10 align=8 -> " + hex(s.ptr) + "\n");
    EXPECT_EQ(static_cast<unsigned char*>(s.ptr)[9], 0x11);

    t.deallocate(s.ptr, lay(10));
    EXPECT_EQ(out.take(), "heapkit: dealloc " + hex(s.ptr) + " size=10 align=8\n");
}

TEST(tracing, the_generic_free_functions_go_through_the_traced_calls) {
    // heapkit::grow / allocate_zeroed on a tracing<> use its own members, so
    // they are traced too.
    pipe_capture out;
    tracing<heapkit::system> t(out.write_fd());
    memory_block b = heapkit::allocate_zeroed(t, lay(8));
    ASSERT_TRUE(b);
    const std::string old_b = hex(b.ptr);
    memory_block g = heapkit::reallocate(t, b.ptr, lay(8), lay(4000));
    ASSERT_TRUE(g);
    t.deallocate(g.ptr, lay(4000));
    const auto lines = lines_of(out.take());
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].rfind("heapkit: alloc_zeroed size=8 align=8 -> 0x", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1].rfind("heapkit: grow " + old_b + " size=8 -> 4000 align=8 -> 0x", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2], "heapkit: dealloc " + hex(g.ptr) + " size=4000 align=8");
}

TEST(tracing, failures_are_written_as_failed) {
    pipe_capture out;
    tracing<heapkit::null> n(out.write_fd());
    EXPECT_FALSE(n.allocate(lay(64)));
    EXPECT_EQ(out.take(), "heapkit: alloc size=64 align=8 -> failed\n");
    EXPECT_FALSE(n.allocate_zeroed(lay(32, 16)));
    EXPECT_EQ(out.take(), "heapkit: alloc_zeroed size=32 align=16 -> failed\n");

    // A grow and a shrink that fail: failing<> lets the first allocation
    // through and fails every later one.
    heapkit::failure_policy policy;
    policy.fail_at = 1;
    tracing<heapkit::failing<heapkit::system>> t(out.write_fd(), std::in_place, policy);
    memory_block b = t.allocate(lay(16));
    ASSERT_TRUE(b);
    (void)out.take();
    EXPECT_FALSE(t.grow(b.ptr, lay(16), lay(32)));
    EXPECT_EQ(out.take(), "heapkit: grow " + hex(b.ptr) + " size=16 -> 32 align=8 -> failed\n");
    EXPECT_FALSE(t.shrink(b.ptr, lay(16), lay(4)));
    EXPECT_EQ(out.take(), "heapkit: shrink " + hex(b.ptr) + " size=16 -> 4 align=8 -> failed\n");
    t.deallocate(b.ptr, lay(16));
    EXPECT_EQ(out.take(), "heapkit: dealloc " + hex(b.ptr) + " size=16 align=8\n");
    EXPECT_EQ(t.inner().live_blocks(), 0u);
}

TEST(tracing, set_fd_minus_one_silences_and_set_fd_resumes) {
    pipe_capture out;
    tracing<heapkit::system> t(out.write_fd());
    t.set_fd(-1);
    EXPECT_EQ(t.fd(), -1);
    memory_block b = t.allocate(lay(40));
    ASSERT_TRUE(b);
    memory_block g = t.grow(b.ptr, lay(40), lay(80));
    ASSERT_TRUE(g);
    memory_block s = t.shrink(g.ptr, lay(80), lay(20));
    ASSERT_TRUE(s);
    t.deallocate(s.ptr, lay(20));
    memory_block z = t.allocate_zeroed(lay(8));
    ASSERT_TRUE(z);
    EXPECT_EQ(out.take(), "");  // silent, and the calls still worked

    t.set_fd(out.write_fd());
    t.deallocate(z.ptr, lay(8));
    EXPECT_EQ(out.take(), "heapkit: dealloc " + hex(z.ptr) + " size=8 align=8\n");
}

TEST(tracing, results_and_capabilities_are_the_parents) {
    tracing<heapkit::counting<heapkit::system>> t(-1);
    memory_block b = t.allocate(lay(100));
    ASSERT_TRUE(b);
    EXPECT_GE(t.usable_size(b.ptr, lay(100)), 100u);
    EXPECT_EQ(t.stats().live_bytes, 100u);  // stats() is the parent's
    EXPECT_EQ(t.inner().snapshot().allocations, 1u);
    t.deallocate(b.ptr, lay(100));
    EXPECT_EQ(t.stats().live_bytes, 0u);

    tracing<heapkit::null> n(-1);
    int on_stack = 0;
    EXPECT_FALSE(n.owns(&on_stack));
}

TEST(tracing, a_write_error_does_not_change_the_result) {
    // The read end of a pipe: write(2) fails with EBADF, the calls still work.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    tracing<heapkit::system> t(fds[0]);
    memory_block b = t.allocate(lay(32));
    ASSERT_TRUE(b);
    std::memset(b.ptr, 1, 32);
    t.deallocate(b.ptr, lay(32));
    EXPECT_FALSE(t.allocate(lay(layout::max_size_for(16), 16)));
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(tracing, lines_from_threads_do_not_mix) {
    // Each line is one write(2) to a shared log file opened for appending
    // (as `2>>log` does): lines from several threads interleave whole, never
    // in pieces, and none is lost.
    const int fd = ::open(::testing::TempDir().c_str(), O_TMPFILE | O_RDWR | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << "O_TMPFILE in " << ::testing::TempDir() << ": errno " << errno;
    tracing<heapkit::system> t(fd);
    constexpr int threads_n = 4;
    constexpr int rounds = 500;
    std::vector<std::thread> threads;
    for (int k = 0; k < threads_n; ++k) {
        threads.emplace_back([&t, k] {
            for (int i = 0; i < rounds; ++i) {
                const layout l = lay(static_cast<std::size_t>(1 + k * 1000 + i), 16);
                memory_block b = t.allocate(l);
                if (!b) std::abort();
                t.deallocate(b.ptr, l);
            }
        });
    }
    for (auto& th : threads) th.join();

    const off_t size = ::lseek(fd, 0, SEEK_END);
    ASSERT_GT(size, 0);
    std::string text(static_cast<std::size_t>(size), '\0');
    ASSERT_EQ(::pread(fd, text.data(), text.size(), 0), size);
    ::close(fd);

    const std::regex alloc_line(R"(heapkit: alloc size=[0-9]+ align=16 -> 0x[0-9a-f]+)");
    const std::regex dealloc_line(R"(heapkit: dealloc 0x[0-9a-f]+ size=[0-9]+ align=16)");
    const auto lines = lines_of(text);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(2 * threads_n * rounds));
    std::size_t allocs = 0, deallocs = 0;
    for (const auto& line : lines) {
        if (std::regex_match(line, alloc_line)) {
            ++allocs;
        } else if (std::regex_match(line, dealloc_line)) {
            ++deallocs;
        } else {
            ADD_FAILURE() << "malformed line: " << line;
        }
    }
    EXPECT_EQ(allocs, static_cast<std::size_t>(threads_n * rounds));
    EXPECT_EQ(deallocs, static_cast<std::size_t>(threads_n * rounds));
}

}  // namespace
