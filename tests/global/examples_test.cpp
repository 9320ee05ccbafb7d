// The example programs and `heapkit tour`, run as users run them: each
// program's exit status or signal, its key lines, and that its figures are
// plausible. Lives in tests/global (no sanitizers) because it only spawns
// processes; the programs carry their own build flags. Skips when the tools
// and examples are not built (HEAPKIT_BUILD_TOOLS=OFF).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shell.hpp"

namespace {

#ifndef HEAPKIT_BIN_DIR
#define HEAPKIT_BIN_DIR "."
#endif

struct run_result {
    std::string out;     // stdout
    std::string err;     // stderr
    bool exited = false;
    int code = -1;       // exit status when exited
    int signal = 0;      // terminating signal otherwise
};

std::string bin(const std::string& name) { return std::string(HEAPKIT_BIN_DIR) + "/" + name; }

// Runs `program args` with stdin from /dev/null; `exec` makes the status the program's own.
run_result run(const std::string& program, const std::string& args = "") {
    char err_path[] = "/tmp/heapkit-examples-test-XXXXXX";
    const int fd = ::mkstemp(err_path);
    if (fd >= 0) ::close(fd);
    const std::string cmd = "exec '" + program + "' " + args + " 2>'" + err_path + "' </dev/null";
    run_result r;
    const heapkit::testing::shell_output sh = heapkit::testing::shell(cmd);
    if (sh.status == -1) return r;
    r.out = sh.out;
    const int status = sh.status;
    std::ifstream err(err_path);
    std::stringstream ss;
    ss << err.rdbuf();
    r.err = ss.str();
    ::unlink(err_path);
    if (WIFEXITED(status)) {
        r.exited = true;
        r.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
    }
    return r;
}

// The numbers captured by `pattern`'s groups in the first line of `text` it matches; empty if none.
std::vector<long long> numbers(const std::string& text, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(pattern))) return {};
    std::vector<long long> v;
    for (std::size_t i = 1; i < m.size(); ++i) v.push_back(std::stoll(m[i].str()));
    return v;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t c = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++c;
    return c;
}

class examples : public ::testing::Test {
protected:
    void SetUp() override {
#ifndef HEAPKIT_HAVE_EXAMPLES
        GTEST_SKIP() << "the examples and the heapkit command are not built (HEAPKIT_BUILD_TOOLS=OFF)";
#endif
    }
};

TEST_F(examples, quickstart_exits_zero_and_counts_new) {
    const run_result r = run(bin("example_quickstart"));
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    const auto served = numbers(r.out, R"(new served (\d+) bytes)");
    ASSERT_EQ(served.size(), 1u) << r.out;
    EXPECT_GE(served[0], 4000);  // 1000 ints, at least
}

TEST_F(examples, null_allocator_under_new_terminates_on_uncaught_bad_alloc) {
    const run_result r = run(bin("example_null_allocator"));
    ASSERT_FALSE(r.exited) << r.out << r.err;
    EXPECT_EQ(r.signal, SIGABRT);
    EXPECT_NE(r.out.find("main was reached"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("caught std::bad_alloc"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("terminate called after throwing an instance of 'std::bad_alloc'"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("unexpected"), std::string::npos) << r.out;
}

TEST_F(examples, null_allocator_under_malloc_reaches_main_then_terminates) {
    const run_result r = run(bin("example_null_allocator_with_malloc"));
    ASSERT_FALSE(r.exited) << r.out << r.err;
    EXPECT_EQ(r.signal, SIGABRT);
    EXPECT_NE(r.out.find("main was reached"), std::string::npos) << r.out;
    const auto refused = numbers(r.out, R"(requests refused before main: (\d+))");
    ASSERT_EQ(refused.size(), 1u) << r.out;
    EXPECT_GE(refused[0], 1);
    EXPECT_NE(r.err.find("terminate called"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("unexpected"), std::string::npos) << r.out;
}

TEST_F(examples, null_allocator_with_rust_rules_aborts_before_main) {
    const run_result r = run(bin("example_null_allocator_abort"));
    ASSERT_FALSE(r.exited) << r.out << r.err;
    EXPECT_EQ(r.signal, SIGABRT);
    EXPECT_EQ(r.out, "");  // main never ran
    const auto size = numbers(r.err, R"(^memory allocation of (\d+) bytes failed\n)");
    ASSERT_EQ(size.size(), 1u) << r.err;
    EXPECT_GT(size[0], 16);  // more than the bridge's header
}

TEST_F(examples, counting_reports_before_main_and_every_construct) {
    const run_result r = run(bin("example_counting_allocator"));
    ASSERT_TRUE(r.exited) << r.err;
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const auto before = numbers(r.out, R"(allocated before main: (\d+) bytes in (\d+) calls)");
    ASSERT_EQ(before.size(), 2u) << r.out;
    EXPECT_GT(before[0], 0);
    EXPECT_GT(before[1], 0);
    EXPECT_FALSE(numbers(r.out, R"(live at main: (\d+) bytes in (\d+) blocks)").empty()) << r.out;

    // Each row: construct, bytes, calls, frees, live.
    auto row = [&r](const std::string& construct) {
        std::string escaped;
        for (char c : construct) {
            if (std::string("\\^$.|?*+()[]{}<>").find(c) != std::string::npos) escaped += '\\';
            escaped += c;
        }
        return numbers(r.out, "\n" + escaped + R"( +(\d+) +(\d+) +(\d+) +(-?\d+))");
    };
    for (const char* c : {"std::cout << ...", "std::cerr << ...", "printf", "std::puts", "std::string, 5 chars",
                          "std::string, 100 chars", "std::vector<int> push_back x1000", "std::to_string, 19 digits",
                          "std::function, 64-byte capture", "std::make_shared<int>", "throw 42 / catch",
                          "std::thread start + join", "std::locale + 1 facet", "std::regex + regex_match"}) {
        EXPECT_EQ(row(c).size(), 4u) << "no row for " << c << " in\n" << r.out;
    }
    EXPECT_GE(row("std::string, 100 chars").at(0), 101);
    EXPECT_GE(row("std::vector<int> push_back x1000").at(0), 4000);
    EXPECT_GE(row("std::vector<int> push_back x1000").at(1), 2);
    EXPECT_GT(row("std::make_shared<int>").at(0), 4);
    EXPECT_GT(row("throw 42 / catch").at(0), 0);
    EXPECT_GT(row("std::regex + regex_match").at(1), 0);
    // Everything stdout and cout print lands in one buffer, allocated once.
    EXPECT_EQ(row("std::cout << ...").at(1) + row("printf").at(1) + row("std::puts").at(1), 1);
}

TEST_F(examples, tracing_prints_each_call_only_while_enabled) {
    const run_result r = run(bin("example_tracing_allocator"));
    ASSERT_TRUE(r.exited) << r.err;
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const std::size_t allocs = count(r.out, "\nheapkit: alloc size=");
    const std::size_t deallocs = count(r.out, "\nheapkit: dealloc 0x");
    EXPECT_GE(allocs, 3u + 2u + 3u) << r.out;  // vector growths, two strings, three map nodes
    EXPECT_EQ(allocs, deallocs) << r.out;     // each step frees what it allocated
    const std::size_t first = r.out.find("heapkit: ");
    EXPECT_GT(first, r.out.find("-- std::vector")) << "a trace line before tracing was enabled:\n" << r.out;
    EXPECT_EQ(r.out.find("heapkit: ", r.out.find("tracing off")), std::string::npos) << r.out;
}

TEST_F(examples, containers_free_everything_they_took) {
    const run_result r = run(bin("example_containers"));
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    const auto pages = numbers(r.out, R"(heapkit::pages \(vector \+ box\) +(\d+) +(\d+) +(\d+) +(\d+))");
    ASSERT_EQ(pages.size(), 4u) << r.out;
    EXPECT_GE(pages[0], 40000);  // 10000 ints and the box
    EXPECT_EQ(pages[1], 2);
    EXPECT_GE(pages[3], pages[0]);  // whole pages held
    EXPECT_NE(r.out.find("after the containers are gone: heapkit::pages holds 0 bytes in 0 blocks"), std::string::npos)
        << r.out;
}

TEST_F(examples, pages_rss_rises_on_touch_and_falls_on_purge_and_release) {
    const run_result r = run(bin("example_pages"));
    ASSERT_TRUE(r.exited) << r.err;
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_FALSE(numbers(r.out, R"(page size: (\d+) bytes)").empty()) << r.out;
    auto change_kib = [&r](const std::string& step) {
        const auto v = numbers(r.out, "\n" + step + R"( +(\d+) +([+-]\d+))");
        return v.size() == 2 ? v[1] : 0;
    };
    constexpr long long region_kib = 32 * 1024;
    EXPECT_GE(change_kib("touch every byte"), region_kib / 2) << r.out;
    EXPECT_LE(change_kib("deallocate"), -region_kib / 2) << r.out;
    EXPECT_LE(change_kib(R"(purge \(MADV_DONTNEED\))"), -region_kib / 2) << r.out;
    EXPECT_GE(change_kib(R"(touch again \(fresh zero pages\))"), region_kib / 2) << r.out;
    EXPECT_LE(change_kib("decommit"), -region_kib / 2) << r.out;
}

TEST_F(examples, tour_reports_every_experiment) {
    const run_result r = run(bin("heapkit"), "tour");
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    for (const char* section : {"[null]", "[null-malloc]", "[null-abort]", "[counting]", "[tracing]", "[containers]",
                                "[pages]", "== summary"}) {
        EXPECT_NE(r.out.find(section), std::string::npos) << "no " << section << " in\n" << r.out;
    }
    EXPECT_EQ(count(r.out, "ended:   signal SIGABRT"), 3u) << r.out;
    EXPECT_NE(r.out.find("message: terminate called after throwing an instance of 'std::bad_alloc'"), std::string::npos);
    EXPECT_NE(r.out.find("message: memory allocation of "), std::string::npos);
    EXPECT_NE(r.out.find("allocated before main: "), std::string::npos);
    EXPECT_EQ(r.out.find("unexpected"), std::string::npos) << r.out;
}

TEST_F(examples, tour_only_runs_the_chosen_experiments) {
    const run_result r = run(bin("heapkit"), "tour --only null counting");
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("[null-abort]"), std::string::npos) << r.out;  // "null" selects every null experiment
    EXPECT_NE(r.out.find("[counting]"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("[pages]"), std::string::npos) << r.out;
}

TEST_F(examples, tour_rejects_a_wrong_argument_on_stderr) {
    const run_result bogus = run(bin("heapkit"), "tour --bogus");
    ASSERT_TRUE(bogus.exited);
    EXPECT_NE(bogus.code, 0);
    EXPECT_NE(bogus.err.find("--bogus"), std::string::npos) << bogus.err;
    EXPECT_EQ(bogus.out, "");

    const run_result unknown = run(bin("heapkit"), "tour --only nonsense");
    ASSERT_TRUE(unknown.exited);
    EXPECT_NE(unknown.code, 0);
    EXPECT_NE(unknown.err.find("unknown experiment 'nonsense'"), std::string::npos) << unknown.err;

    const run_result none = run(bin("heapkit"));
    ASSERT_TRUE(none.exited);
    EXPECT_NE(none.code, 0);
    EXPECT_FALSE(none.err.empty());
}

}  // namespace
