// report_test: `heapkit report` on synthetic traces whose addresses are real
// return addresses in this test program (recorded with this program's module
// map), so the command symbolises them to this file's functions and lines.
// Checks the terminal report, the folded lines summing to the totals, the
// JSON document, the pprof profile read back by `go tool pprof` (skipped
// without go), damaged traces (partial report, one error line, exit 2) and
// a forked child's trace read beside its parent's.
//
// HEAPKIT_WRITE_REPORT_FIXTURE=path/report_fixture.json makes the fixture
// test write the HTML page's fixture (tests/trace/data/report_fixture.json).
#include "self_modules.hpp"
#include "shell.hpp"
#include "synthetic_trace.hpp"
#include "trace/analysis.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef HEAPKIT_BIN_DIR
#define HEAPKIT_BIN_DIR "."
#endif

// Each call and its __LINE__ share a line: not formatted.
// clang-format off
extern "C++" {
__attribute__((noinline)) std::uint64_t hk_report_return_address() {
    return reinterpret_cast<std::uint64_t>(__builtin_return_address(0));
}
// Each returns the address its call returns to and the line of the call.
__attribute__((noinline)) std::uint64_t hk_report_leaker(int* line) {
    const std::uint64_t r = hk_report_return_address(); *line = __LINE__;
    asm volatile("" ::: "memory");
    return r;
}
__attribute__((noinline)) std::uint64_t hk_report_churner(int* line) {
    const std::uint64_t r = hk_report_return_address(); *line = __LINE__;
    asm volatile("" ::: "memory");
    return r;
}
__attribute__((noinline)) std::uint64_t hk_report_main_caller(int* line) {
    const std::uint64_t r = hk_report_return_address(); *line = __LINE__;
    asm volatile("" ::: "memory");
    return r;
}
}
// clang-format on

namespace {

namespace fs = std::filesystem;
using namespace heapkit;
using trace::op;
using u64 = std::uint64_t;
using heapkit::testing::shell;

std::string heapkit_cmd() { return std::string(HEAPKIT_BIN_DIR) + "/heapkit"; }

struct fixture_lines {
    int leaker = 0, churner = 0, main_caller = 0;
};

class report : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(heapkit_cmd())) GTEST_SKIP() << "no heapkit command at " << heapkit_cmd();
        dir_ = fs::temp_directory_path() / ("hk_report_test_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    // A trace of this program: main -> leaker leaks 3 x 1000 bytes, main -> churner allocates
    // and frees 10 x 64 bytes (temporaries), one block of 500 before main.
    void write_known(const std::string& file, u64 pid = 4242) {
        u64 ip_main = hk_report_main_caller(&lines_.main_caller);
        u64 ip_leak = hk_report_leaker(&lines_.leaker);
        u64 ip_churn = hk_report_churner(&lines_.churner);
        test::synthetic_trace t;
        ASSERT_TRUE(t.open_file(file));
        t.process(pid, {"prog", "--size", "3 x"});
        for (const trace::module_info& m : test::self_modules()) t.module(m);
        t.stack(1, 0, ip_main).stack(2, 1, ip_leak).stack(3, 1, ip_churn);
        t.at(100).alloc(0x9000, 500, 1);
        t.main_start();
        for (u64 i = 0; i < 10; ++i) {
            t.at(1'000'000 * (i + 1)).alloc(0x1000 + 0x100 * i, 64, 3);
            t.free(0x1000 + 0x100 * i, 3);
        }
        t.round();  // a truncated copy keeps what came before this
        t.rss(8 << 20);
        for (u64 i = 0; i < 3; ++i) t.at(20'000'000 + i).alloc(0x5000 + 0x1000 * i, 1000, 2, op::new_);
        t.free(0x9000, 1);
        t.end(0);
        t.finish();
    }

    fs::path dir_;
    fixture_lines lines_;
};

std::string read_file(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

TEST_F(report, terminal_report_names_functions_lines_and_exact_numbers) {
    write_known(path("t.hkt"));
    const auto r = shell(heapkit_cmd() + " report " + path("t.hkt") + " --threads 2>&1");
    EXPECT_EQ(exit_code(r.status), 0) << r.out;
    EXPECT_TRUE(contains(r.out, "process 4242: prog --size '3 x'")) << r.out;
    EXPECT_TRUE(contains(r.out, "exit 0")) << r.out;
    EXPECT_TRUE(contains(r.out, "allocated       4140 bytes (4.0 KiB)")) << r.out;  // 500 + 10 x 64 + 3 x 1000
    EXPECT_TRUE(contains(r.out, "peak heap       3500 bytes (3.4 KiB) at 0.020 s")) << r.out;
    EXPECT_TRUE(contains(r.out, "leaked at exit  3000 bytes (2.9 KiB) in 3 blocks")) << r.out;
    EXPECT_TRUE(contains(r.out, "temporary       10 allocations (71.4%)")) << r.out;
    EXPECT_TRUE(contains(r.out, "before main     500 bytes in 1 call")) << r.out;
    EXPECT_TRUE(contains(r.out, "hk_report_leaker(int*) (report_test.cpp:" + std::to_string(lines_.leaker) + ")"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "hk_report_churner(int*) (report_test.cpp:" + std::to_string(lines_.churner) + ")"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "hk_report_main_caller(int*) (report_test.cpp:")) << r.out;
    EXPECT_TRUE(contains(r.out, "leaks at exit\n  1. 3000 bytes (2.9 KiB) in 3 blocks\n      hk_report_leaker"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "operator new(size_t)")) << r.out;
}

TEST_F(report, folded_lines_sum_to_the_totals) {
    write_known(path("t.hkt"));
    const std::vector<std::pair<std::string, u64>> metrics = {
        {"bytes", 4140}, {"calls", 14}, {"peak", 3500}, {"leaked", 3000}};
    for (const auto& [metric, total] : metrics) {
        const auto r = shell(heapkit_cmd() + " report " + path("t.hkt") + " --folded - --folded-metric " + metric);
        ASSERT_EQ(exit_code(r.status), 0) << r.out;
        std::istringstream in(r.out);
        std::string line;
        u64 sum = 0;
        int lines = 0;
        while (std::getline(in, line)) {
            const std::size_t sp = line.rfind(' ');
            ASSERT_NE(sp, std::string::npos) << line;
            sum += std::stoull(line.substr(sp + 1));
            ++lines;
            EXPECT_EQ(line.rfind("hk_report_main_caller(int*)", 0), 0u) << line;  // outermost first
        }
        EXPECT_EQ(sum, total) << metric << ":\n" << r.out;
        EXPECT_GE(lines, 1);
    }
    const auto leaked = shell(heapkit_cmd() + " report " + path("t.hkt") + " --folded - --folded-metric leaked");
    EXPECT_EQ(leaked.out, "hk_report_main_caller(int*);hk_report_leaker(int*) 3000\n");
    const auto bad = shell(heapkit_cmd() + " report " + path("t.hkt") + " --folded - --folded-metric nope 2>&1");
    EXPECT_EQ(exit_code(bad.status), 1);
    EXPECT_TRUE(contains(bad.out, "--folded-metric nope")) << bad.out;
}

TEST_F(report, json_document_parses_and_holds_the_numbers) {
    if (std::system("python3 -c 'import json' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 not found";
    write_known(path("t.hkt"));
    const auto r = shell(heapkit_cmd() + " report " + path("t.hkt") + " --json " + path("t.json"));
    ASSERT_EQ(exit_code(r.status), 0) << r.out;
    // the document's numbers, and the call tree's invariants, checked by python
    const std::string check = R"PY(
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
assert d["pid"] == 4242 and d["command"] == "prog --size '3 x'" and d["exit"] == "exit 0", d["command"]
assert s["allocated_bytes"] == 4140 and s["peak_heap_bytes"] == 3500 and s["leaked_bytes"] == 3000, s
assert s["leaked_blocks"] == 3 and s["temporary"] == 10 and s["before_main_bytes"] == 500, s
assert s["before_main_calls"] == 1 and s["allocations"] == 14 and s["frees"] == 11 and s["failed"] == 0, s
assert s["calls"]["malloc"] == 11 and s["calls"]["operator new(size_t)"] == 3 and s["calls"]["free"] == 11, s
assert s["peak_rss_bytes"] == 8 << 20, s
assert d["nodes"][0] == [-1, -1]
for i, (p, f) in enumerate(d["nodes"][1:], 1):
    assert 0 <= p < i and 0 <= f < len(d["frames"]), (i, p, f)
for m, total in (("allocated", 4140), ("calls", 14), ("peak", 3500), ("leaked", 3000)):
    assert sum(v for _, v in d["metrics"][m]) == total, m
assert len(d["timeline"]) <= 2000 and max(p[1] for p in d["timeline"]) == 3500
assert all(d["timeline"][i][0] <= d["timeline"][i + 1][0] for i in range(len(d["timeline"]) - 1))
assert any(p[2] == 8 << 20 for p in d["timeline"])
assert len(d["snapshots"]) <= 100 and len(d["snapshots"]) >= 1
assert sum(h["count"] for h in d["histogram"]) == 14 and sum(h["bytes"] for h in d["histogram"]) == 4140
leak = d["top"]["leaks"][0]
assert leak["value"] == 3000 and leak["calls"] == 3
node, names = leak["node"], []
while node > 0:
    names.append(d["frames"][d["nodes"][node][1]]["name"]); node = d["nodes"][node][0]
assert names == ["hk_report_leaker(int*)", "hk_report_main_caller(int*)"], names
f = d["frames"][d["nodes"][leak["node"]][1]]
assert f["file"].endswith("report_test.cpp") and f["line"] == int(sys.argv[2]) and not f["inlined"], f
assert d["top"]["temporary"][0]["value"] == 10
print("ok")
)PY";
    std::ofstream(path("check.py")) << check;
    const auto c =
        shell("python3 " + path("check.py") + " " + path("t.json") + " " + std::to_string(lines_.leaker) + " 2>&1");
    EXPECT_EQ(c.out, "ok\n");
    // to standard output: the document alone
    const auto j = shell(heapkit_cmd() + " report " + path("t.hkt") + " --json -");
    EXPECT_EQ(j.out, read_file(path("t.json")));
}

TEST_F(report, html_page_embeds_the_data_document) {
    write_known(path("t.hkt"));
    const auto r = shell(heapkit_cmd() + " report " + path("t.hkt") + " --html " + path("t.html") + " --json " +
                         path("t.json") + " 2>&1");
    if (contains(r.out, "--html is not available")) GTEST_SKIP() << "built without the HTML page";
    ASSERT_EQ(exit_code(r.status), 0) << r.out;
    const std::string html = read_file(path("t.html"));
    EXPECT_TRUE(contains(html, "id=\"heapkit-data\"")) << html.substr(0, 300);
    EXPECT_TRUE(contains(html, "\"leaked_bytes\":3000")) << "the summary is embedded";
    EXPECT_TRUE(contains(html, "hk_report_leaker(int*)"));
}

TEST_F(report, pprof_profile_reads_back_with_go_tool_pprof) {
    if (std::system("go version >/dev/null 2>&1") != 0) GTEST_SKIP() << "go not on PATH";
    write_known(path("t.hkt"));
    const auto r = shell(heapkit_cmd() + " report " + path("t.hkt") + " --pprof " + path("t.pb.gz"));
    ASSERT_EQ(exit_code(r.status), 0) << r.out;
    const std::string env = "HOME=" + dir_.string() + " GOCACHE=" + path("gocache") + " GOPATH=" + path("gopath") + " ";
    const auto top = shell(env + "go tool pprof -top -unit=B -sample_index=leaked " + path("t.pb.gz") + " 2>&1");
    EXPECT_EQ(exit_code(top.status), 0) << top.out;
    EXPECT_TRUE(contains(top.out, "hk_report_leaker")) << top.out;
    EXPECT_TRUE(contains(top.out, "3000B")) << top.out;
    const auto alloc = shell(env + "go tool pprof -top -unit=B -sample_index=alloc_space " + path("t.pb.gz") + " 2>&1");
    EXPECT_TRUE(contains(alloc.out, "4140B total")) << alloc.out;
    const auto objects = shell(env + "go tool pprof -top -sample_index=alloc_objects " + path("t.pb.gz") + " 2>&1");
    EXPECT_TRUE(contains(objects.out, "14 total")) << objects.out;
    const auto lines = shell(env + "go tool pprof -top -lines -sample_index=leaked " + path("t.pb.gz") + " 2>&1");
    EXPECT_TRUE(contains(lines.out, "report_test.cpp:" + std::to_string(lines_.leaker))) << lines.out;
}

TEST_F(report, damaged_trace_gives_a_partial_report_an_error_line_and_status_2) {
    write_known(path("t.hkt"));
    const std::string good = read_file(path("t.hkt"));
    // truncated
    std::ofstream(path("cut.hkt"), std::ios::binary) << good.substr(0, good.size() - 40);
    const auto r = shell(heapkit_cmd() + " report " + path("cut.hkt") + " 2>" + path("err.txt"));
    EXPECT_EQ(exit_code(r.status), 2) << r.out;
    EXPECT_TRUE(contains(r.out, "process 4242")) << r.out;
    EXPECT_TRUE(contains(r.out, "allocations     11\n")) << r.out;  // the leaks were in the last chunk
    const std::string err = read_file(path("err.txt"));
    EXPECT_TRUE(contains(err, "cut.hkt")) << err;
    EXPECT_TRUE(contains(err, "offset")) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    // a flipped byte in every position of a stretch: never a crash
    for (std::size_t at = 16; at < good.size(); at += std::max<std::size_t>(1, good.size() / 23)) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ 0x5a);
        std::ofstream(path("bad.hkt"), std::ios::binary) << bad;
        const auto b = shell(heapkit_cmd() + " report " + path("bad.hkt") + " --json " + path("bad.json") +
                             " --folded " + path("bad.folded") + " >/dev/null 2>&1");
        const int code = exit_code(b.status);
        EXPECT_TRUE(code == 0 || code == 2) << "byte " << at << ": status " << b.status;
    }
    // not a trace at all
    std::ofstream(path("junk.hkt")) << "this is not a trace";
    const auto junk = shell(heapkit_cmd() + " report " + path("junk.hkt") + " 2>&1");
    EXPECT_EQ(exit_code(junk.status), 2) << junk.out;
    EXPECT_TRUE(contains(junk.out, "junk.hkt")) << junk.out;
}

TEST_F(report, forked_children_are_read_beside_the_parent) {
    const std::string parent = path("p.hkt");
    {
        test::synthetic_trace t;
        ASSERT_TRUE(t.open_file(parent));
        t.process(100, {"parent"});
        t.stack(1, 0, 0x10);
        t.main_start();
        t.alloc(0x1000, 11, 1);
        t.fork(101, parent + ".101");
        t.end(0);
        t.finish();
    }
    {
        test::synthetic_trace t;
        ASSERT_TRUE(t.open_file(parent + ".101"));
        t.process(101, {"child", "x"}, 100, parent);
        t.stack(1, 0, 0x20);
        t.alloc(0x2000, 22, 1);
        t.alloc(0x3000, 33, 1);
        t.end(7);
        t.finish();
    }
    const auto r = shell(heapkit_cmd() + " report " + parent + " 2>&1");
    EXPECT_EQ(exit_code(r.status), 0) << r.out;
    EXPECT_TRUE(contains(r.out, "processes\n  100  parent  (exit 0)\n    101  child x  (exit 7)\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "process 100: parent")) << r.out;
    EXPECT_TRUE(contains(r.out, "process 101: child x")) << r.out;
    EXPECT_TRUE(contains(r.out, "allocated       55 bytes")) << r.out;
    const auto one = shell(heapkit_cmd() + " report " + parent + " --process 101 --folded - 2>&1");
    EXPECT_EQ(one.out, "0x20 55\n");
    const auto none = shell(heapkit_cmd() + " report " + parent + " --process 999 2>&1");
    EXPECT_EQ(exit_code(none.status), 1);
}

#ifdef HEAPKIT_REPORT_LEAKY
// The line of report_leaky.cpp that holds `marker`.
int source_line(const std::string& marker) {
    std::ifstream f(HEAPKIT_REPORT_LEAKY_SOURCE);
    std::string line;
    for (int n = 1; std::getline(f, line); ++n)
        if (line.find(marker) != std::string::npos) return n;
    return -1;
}
#endif

// End to end: `heapkit profile` records a program built with -g; the report names the leaking
// function and line with the exact bytes, the temporaries' line, and the inlined frames.
TEST_F(report, profiled_program_leak_is_named_by_function_and_line) {
#ifndef HEAPKIT_REPORT_LEAKY
    GTEST_SKIP() << "built without the recorder";
#else
    const std::string trace = path("leaky.hkt");
    const auto p = shell(heapkit_cmd() + " profile -o " + trace + " -- " + HEAPKIT_REPORT_LEAKY + " 2>&1");
    ASSERT_EQ(exit_code(p.status), 0) << p.out;
    const int leak = source_line("// LEAK_LINE"), churn = source_line("// CHURN_LINE"),
              inl = source_line("// INLINE_LINE");
    const auto r = shell(heapkit_cmd() + " report " + trace + " --frames 2 2>&1");
    ASSERT_EQ(exit_code(r.status), 0) << r.out;
    EXPECT_TRUE(
        contains(r.out, "leaks at exit\n  1. 3003 bytes (2.9 KiB) in 3 blocks\n      leak_here (report_leaky.cpp:" +
                            std::to_string(leak) + ")\n      main (report_leaky.cpp:"))
        << r.out;
    EXPECT_TRUE(contains(r.out,
                         "top sites by temporary allocations\n  1. 10 temporary of 10 allocations\n"
                         "      churn (report_leaky.cpp:" +
                             std::to_string(churn) + ")\n"))
        << r.out;
    EXPECT_TRUE(contains(r.out, "      inline_helper (report_leaky.cpp:" + std::to_string(inl) +
                                    ") [inlined]\n      uses_inline() (report_leaky.cpp:"))
        << r.out;
    // the leaked bytes of that site, exactly, in the folded export too
    const auto f = shell(heapkit_cmd() + " report " + trace + " --folded - --folded-metric leaked");
    EXPECT_TRUE(contains(f.out, ";main;leak_here 3003\n")) << f.out;
#endif
}

// A richer trace for the HTML page's fixture: a ramp to a peak, temporaries, leaks, RSS samples.
TEST_F(report, fixture_for_the_html_page) {
    const char* out = std::getenv("HEAPKIT_WRITE_REPORT_FIXTURE");
    int l1 = 0, l2 = 0, l3 = 0;
    const u64 ip_main = hk_report_main_caller(&l1), ip_leak = hk_report_leaker(&l2), ip_churn = hk_report_churner(&l3);
    test::synthetic_trace t;
    ASSERT_TRUE(t.open_file(path("rich.hkt")));
    t.process(31337, {"./workload", "--rounds", "50"});
    for (const trace::module_info& m : test::self_modules()) t.module(m);
    t.stack(1, 0, ip_main).stack(2, 1, ip_leak).stack(3, 1, ip_churn).stack(4, 2, ip_churn).stack(5, 0, 0xdead0);
    t.at(0).alloc(0x100, 72704, 5);
    t.main_start();
    u64 addr = 0x100000;
    std::vector<u64> held;
    for (u64 round = 0; round < 50; ++round) {
        t.at(round * 20'000'000);
        for (int i = 0; i < 20; ++i) {  // churn: temporaries
            t.alloc(addr, 16 << (i % 8), 3);
            t.free(addr, 3);
            addr += 0x1000;
        }
        for (int i = 0; i < 5; ++i) {  // a growing set, freed after the peak
            t.alloc(addr, 4096 + round * 64, 4, op::new_array);
            held.push_back(addr);
            addr += 0x10000;
        }
        if (round % 10 == 9) t.alloc(addr += 0x1000, 1000, 2, op::new_);  // leaks
        t.rss((8 + round / 2) << 20);
        if (round == 35) {
            for (u64 a : held) t.free(a, 4, op::delete_array);
            held.clear();
        }
        t.round();
    }
    t.at(1'000'000'000).end(0);
    t.finish();
    const std::string target = out != nullptr ? out : path("rich.json");
    const auto r = shell(heapkit_cmd() + " report " + path("rich.hkt") + " --json " + target + " >/dev/null");
    ASSERT_EQ(exit_code(r.status), 0);
    const std::string json = read_file(target);
    EXPECT_TRUE(contains(json, "\"command\":\"./workload --rounds 50\"")) << json.substr(0, 200);
}

}  // namespace
