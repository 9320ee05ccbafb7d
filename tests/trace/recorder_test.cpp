// The recorder (libheapkit-profile.so) on real programs: every call of a known
// C and C++ program is in the trace with its op, size, alignment and address;
// threads, allocations before main, fork, exec, vfork, signal handlers that
// allocate, longjmp, a thread that outlives main, every way to end, dlopen and
// dlclose; the program's output and status never change.
#include "trace/recorded_run.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace {

using namespace heapkit::trace;
using namespace heapkit::trace::testing;

const std::string recorder = HEAPKIT_PROFILE_LIBRARY;

recorded run(const std::string& test, const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    return run_program(argv, (scratch_dir(test) / "t.hkt").string(), recorder, env);
}

struct call {
    std::string what;
    std::uint64_t size = 0, align = 0, addr = 0, old = 0;
};

// The "<what> <size> <align> <addr> [<old>]" lines the programs print.
std::vector<call> printed_calls(const std::string& out) {
    std::vector<call> calls;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        char what[64];
        unsigned long long size, align, addr, old = 0;
        const int n = std::sscanf(line.c_str(), "%63s %llu %llu %llx %llx", what, &size, &align, &addr, &old);
        if (n >= 4) calls.push_back(call{what, size, align, addr, n == 5 ? old : 0});
    }
    return calls;
}

std::uint64_t count_events(const decoded& d, record kind) {
    return static_cast<std::uint64_t>(
        std::count_if(d.events.begin(), d.events.end(), [&](const event& e) { return e.kind == kind; }));
}

const event* find_alloc(const decoded& d, op o, std::uint64_t addr, std::uint64_t size) {
    for (const event& e : d.events)
        if (e.kind == record::alloc && e.operation == o && e.addr == addr && e.size == size) return &e;
    return nullptr;
}

void expect_clean(const decoded& d) {
    EXPECT_TRUE(d.opened) << d.path << ": " << d.error;
    EXPECT_EQ(d.error, "") << d.path;
    EXPECT_EQ(d.lost, 0u) << d.path;
    EXPECT_EQ(d.process.recorder, "heapkit-profile 1");
}

TEST(Recorder, CProgramEveryCallExactly) {
    const recorded r = run("c", {HEAPKIT_REC_KNOWN});
    ASSERT_EQ(r.exit_code(), 3);
    const decoded d = r.main();
    expect_clean(d);
    ASSERT_TRUE(d.complete);
    EXPECT_EQ(d.last()->kind, record::end);
    EXPECT_EQ(d.last()->flags, static_cast<std::uint64_t>(end_how::exit));
    EXPECT_EQ(d.last()->value, 3);  // main's return value
    EXPECT_EQ(d.process.argv.size(), 1u);
    EXPECT_EQ(d.process.exe, std::filesystem::canonical(HEAPKIT_REC_KNOWN).string());

    const std::map<std::string, op> ops = {{"malloc", op::malloc},
                                           {"calloc", op::calloc},
                                           {"aligned_alloc", op::aligned_alloc},
                                           {"posix_memalign", op::posix_memalign},
                                           {"memalign", op::memalign},
                                           {"valloc", op::valloc}};
    const std::vector<call> calls = printed_calls(r.out);
    ASSERT_EQ(calls.size(), 16u);
    std::set<std::uint64_t> live;
    for (const call& c : calls) {
        if (c.what == "realloc" || c.what == "reallocarray") {
            const op o = c.what == "realloc" ? op::realloc : op::reallocarray;
            const auto it = std::find_if(d.events.begin(), d.events.end(), [&](const event& e) {
                return e.kind == record::realloc && e.operation == o && e.addr == c.old && e.new_addr == c.addr &&
                       e.size == c.size;
            });
            EXPECT_NE(it, d.events.end()) << c.what << " " << c.size;
            if (it != d.events.end()) {
                EXPECT_NE(it->stack, 0u);
            }
            live.erase(c.old);
            live.insert(c.addr);
            continue;
        }
        const event* e = find_alloc(d, ops.at(c.what), c.addr, c.size);
        ASSERT_NE(e, nullptr) << c.what << " " << c.size;
        EXPECT_EQ(e->align, op_has_align(ops.at(c.what)) ? c.align : 0) << c.what;
        ASSERT_NE(e->stack, 0u) << c.what;
        // The innermost frame is the program's own call site (the recorder's frames are not in stacks).
        const module_info* m = d.module_of(d.frames(e->stack).front());
        ASSERT_NE(m, nullptr) << c.what;
        EXPECT_EQ(m->path, d.process.exe) << c.what;
        EXPECT_FALSE(m->build_id.empty());
        live.insert(c.addr);
    }
    // Every block the program freed, freed once, without a stack (the default).
    std::map<std::uint64_t, int> frees;
    for (const event& e : d.events)
        if (e.kind == record::free) {
            ++frees[e.addr];
            EXPECT_EQ(e.stack, 0u);
        }
    for (std::uint64_t a : live) EXPECT_EQ(frees[a], 1) << std::hex << a;
    // The realloc chain: 16 -> 32 -> ... -> 4096, 8 reallocs.
    EXPECT_EQ(count_events(d, record::realloc), 9u);
    // main_start precedes main's first allocation.
    const auto main_start =
        std::find_if(d.events.begin(), d.events.end(), [](const event& e) { return e.kind == record::main_start; });
    ASSERT_NE(main_start, d.events.end());
    EXPECT_LT(main_start->seq, find_alloc(d, op::malloc, calls[0].addr, 100)->seq);
    // seq order, no duplicate
    for (std::size_t i = 1; i < d.events.size(); ++i) EXPECT_LT(d.events[i - 1].seq, d.events[i].seq);
}

TEST(Recorder, CxxProgramFormsThreadsBeforeMainAndExceptions) {
    const recorded plain = run_program({HEAPKIT_REC_CXX}, (scratch_dir("cxx-plain") / "t.hkt").string(), "");
    const recorded r = run("cxx", {HEAPKIT_REC_CXX});
    ASSERT_EQ(r.exit_code(), 0);
    // The output is the program's own (exceptions unwound through the recorder ran every destructor).
    auto strip = [](std::string s) {
        std::string out;
        std::istringstream in(s);
        std::string line;
        while (std::getline(in, line)) {
            const auto at = line.find(" 0x");
            out += (at == std::string::npos ? line : line.substr(0, at)) + "\n";
        }
        return out;
    };
    EXPECT_EQ(strip(r.out), strip(plain.out));
    EXPECT_NE(
        r.out.find("destructor 0\ndestructor 1\ndestructor 2\ndestructor 3\ndestructor 4\ndestructor 5\ncaught deep"),
        std::string::npos);

    const decoded d = r.main();
    expect_clean(d);
    ASSERT_TRUE(d.complete);
    const std::vector<call> calls = printed_calls(r.out);
    const std::map<std::string, op> ops = {{"early", op::malloc},
                                           {"new", op::new_},
                                           {"new[]", op::new_array},
                                           {"new_aligned", op::new_aligned},
                                           {"new[]_aligned", op::new_array_aligned},
                                           {"new_nothrow", op::new_nothrow}};
    ASSERT_EQ(calls.size(), ops.size());
    for (const call& c : calls) {
        const event* e = find_alloc(d, ops.at(c.what), c.addr, c.size);
        ASSERT_NE(e, nullptr) << c.what;
        EXPECT_EQ(e->align, c.align) << c.what;
        EXPECT_NE(e->stack, 0u) << c.what;
        // operator new is recorded once, not again as the runtime's inner malloc
        for (const event& other : d.events)
            if (&other != e && other.kind == record::alloc && other.addr == c.addr && other.seq > e->seq &&
                other.seq < e->seq + 2)
                ADD_FAILURE() << c.what << " recorded twice";
    }
    // The allocation of a static constructor comes before main starts.
    const event* early = find_alloc(d, op::malloc, calls[0].addr, 4242);
    const auto main_start =
        std::find_if(d.events.begin(), d.events.end(), [](const event& e) { return e.kind == record::main_start; });
    ASSERT_NE(main_start, d.events.end());
    EXPECT_LT(early->seq, main_start->seq);
    // Each delete form with its size and alignment.
    auto freed = [&](op o, std::uint64_t addr) {
        return std::find_if(d.events.begin(), d.events.end(), [&](const event& e) {
                   return e.kind == record::free && e.operation == o && e.addr == addr;
               }) != d.events.end();
    };
    EXPECT_TRUE(freed(op::delete_sized, calls[1].addr));
    EXPECT_TRUE(freed(op::delete_array, calls[2].addr));
    EXPECT_TRUE(freed(op::delete_sized_aligned, calls[3].addr));
    EXPECT_TRUE(freed(op::delete_array_aligned, calls[4].addr));
    EXPECT_TRUE(freed(op::delete_sized, calls[5].addr));
    // Four threads, 1000 mallocs each of 30000..30999 bytes: exactly four of each size, one per thread.
    std::map<std::uint64_t, std::set<std::uint32_t>> by_size;
    std::uint64_t n = 0;
    for (const event& e : d.events)
        if (e.kind == record::alloc && e.operation == op::malloc && e.size >= 30000 && e.size < 31000) {
            by_size[e.size].insert(e.thread);
            ++n;
        }
    EXPECT_EQ(n, 4000u);
    EXPECT_EQ(by_size.size(), 1000u);
    for (const auto& [size, threads] : by_size) EXPECT_EQ(threads.size(), 4u) << size;
    // Each thread has its start and end; names and tids recorded.
    std::uint64_t starts = 0, ends = 0;
    for (const thread_info& t : d.threads) {
        if (t.tid != 0) ++starts;
        if (t.end_seq != UINT64_MAX) ++ends;
    }
    EXPECT_GE(starts, 5u);  // main and the four
    EXPECT_GE(ends, 4u);
}

TEST(Recorder, OptionsSampleRateAndFreeStacks) {
    const recorded all = run("free-stacks", {HEAPKIT_REC_KNOWN}, {"HEAPKIT_PROFILE_FREE_STACKS=1"});
    const decoded d = all.main();
    expect_clean(d);
    std::uint64_t frees = 0;
    for (const event& e : d.events)
        if (e.kind == record::free) {
            ++frees;
            EXPECT_NE(e.stack, 0u);
        }
    EXPECT_GE(frees, 8u);

    const recorded sampled = run("sampled", {HEAPKIT_REC_CXX}, {"HEAPKIT_PROFILE_SAMPLE_RATE=1000000"});
    ASSERT_EQ(sampled.exit_code(), 0);
    const decoded s = sampled.main();
    expect_clean(s);
    EXPECT_EQ(s.process.sample_rate, 1000000u);
    // 122 MB allocated by the threads: about 122 samples of the 4000 (frees all recorded).
    std::uint64_t thread_allocs = 0, thread_frees = 0;
    for (const event& e : s.events) {
        if (e.kind == record::alloc && e.size >= 30000 && e.size < 31000) ++thread_allocs;
        if (e.kind == record::free) ++thread_frees;
    }
    EXPECT_GT(thread_allocs, 30u);
    EXPECT_LT(thread_allocs, 400u);
    EXPECT_GE(thread_frees, 4000u);
}

TEST(Recorder, ForkChildWritesItsOwnTraceNamedByTheParent) {
    const recorded r = run("fork", {HEAPKIT_REC_SCENARIOS, "fork"});
    ASSERT_EQ(r.exit_code(), 0);
    ASSERT_EQ(r.files.size(), 2u);
    const decoded parent = decode(r.files[0]);
    expect_clean(parent);
    EXPECT_TRUE(parent.complete);
    const auto fork =
        std::find_if(parent.events.begin(), parent.events.end(), [](const event& e) { return e.kind == record::fork; });
    ASSERT_NE(fork, parent.events.end());
    EXPECT_EQ(fork->text, r.files[1]);
    const decoded child = decode(fork->text);
    expect_clean(child);
    EXPECT_TRUE(child.complete);
    EXPECT_EQ(child.process.parent_trace, r.files[0]);
    EXPECT_EQ(static_cast<std::int64_t>(child.process.pid), fork->value);
    EXPECT_EQ(child.process.ppid, parent.process.pid);
    EXPECT_EQ(child.find(record::alloc, 5555).size(), 1u);
    EXPECT_EQ(parent.find(record::alloc, 5555).size(), 0u);
    EXPECT_FALSE(child.modules.empty());  // the child's trace stands on its own
    for (const event& e : child.events)
        if (e.stack != 0) {
            EXPECT_FALSE(child.frames(e.stack).empty());
        }
}

TEST(Recorder, ForkWhileOtherThreadsAllocate) {
    const recorded r = run("forkthreads", {HEAPKIT_REC_SCENARIOS, "forkthreads"});
    ASSERT_EQ(r.exit_code(), 0);
    EXPECT_EQ(r.out, "children ok\n");
    ASSERT_EQ(r.files.size(), 21u);
    const decoded parent = decode(r.files[0]);
    expect_clean(parent);
    EXPECT_TRUE(parent.complete);
    EXPECT_EQ(count_events(parent, record::fork), 20u);
    for (const event& f : parent.events) {
        if (f.kind != record::fork) continue;
        const decoded child = decode(f.text);
        expect_clean(child);
        EXPECT_TRUE(child.complete) << f.text;
        EXPECT_EQ(child.find(record::alloc, 5556).size(), 1u) << f.text;
        EXPECT_EQ(child.process.parent_trace, r.files[0]);
    }
}

TEST(Recorder, ExecStartsATraceThatNamesThePreviousOne) {
    const recorded r = run("exec", {HEAPKIT_REC_SCENARIOS, "exec"});
    ASSERT_EQ(r.exit_code(), 0);
    ASSERT_EQ(r.files.size(), 2u);
    const decoded before = decode(r.files[0]);
    const decoded after = decode(r.files[1]);
    expect_clean(before);
    expect_clean(after);
    ASSERT_TRUE(before.complete);
    EXPECT_EQ(before.last()->flags, static_cast<std::uint64_t>(end_how::exec));
    EXPECT_EQ(before.find(record::alloc, 6666).size(), 1u);
    const auto exec =
        std::find_if(before.events.begin(), before.events.end(), [](const event& e) { return e.kind == record::exec; });
    ASSERT_NE(exec, before.events.end());
    EXPECT_EQ(exec->text, "/proc/self/exe");
    EXPECT_EQ(after.process.previous_trace, r.files[0]);
    EXPECT_EQ(after.process.pid, before.process.pid);
    EXPECT_EQ(after.process.argv.size(), 2u);
    EXPECT_EQ(after.find(record::alloc, 6667).size(), 1u);
    EXPECT_TRUE(after.complete);
}

TEST(Recorder, VforkChildRecordsNothingIntoTheParent) {
    const recorded r = run("vfork", {HEAPKIT_REC_SCENARIOS, "vfork"});
    ASSERT_EQ(r.exit_code(), 0);
    const decoded d = r.main();
    expect_clean(d);
    EXPECT_TRUE(d.complete);
    EXPECT_EQ(d.find(record::alloc, 9999).size(), 1u);
    EXPECT_EQ(count_events(d, record::exec), 0u);  // the child's exec is not the parent's
    EXPECT_EQ(count_events(d, record::end), 1u);
}

TEST(Recorder, SignalHandlerAllocationsAreRecorded) {
    const recorded r = run("signal", {HEAPKIT_REC_SCENARIOS, "signal"});
    ASSERT_EQ(r.exit_code(), 0);
    int handled = 0;
    ASSERT_EQ(std::sscanf(r.out.c_str(), "handled %d", &handled), 1) << r.out;
    EXPECT_GE(handled, 200);  // a last tick may land between the loop's end and the timer's
    const decoded d = r.main();
    expect_clean(d);
    EXPECT_TRUE(d.complete);
    EXPECT_EQ(d.find(record::alloc, 7777).size(), static_cast<std::size_t>(handled));
    // Every block freed once after its allocation.
    std::map<std::uint64_t, int> balance;
    for (const event& e : d.events) {
        if (e.kind == record::alloc && (e.size == 7777 || e.size == 100)) ++balance[e.addr];
        if (e.kind == record::free && balance.count(e.addr) != 0) {
            EXPECT_EQ(balance[e.addr], 1) << std::hex << e.addr;
            --balance[e.addr];
        }
    }
}

TEST(Recorder, LongjmpOutOfFramesThatAllocated) {
    const recorded r = run("longjmp", {HEAPKIT_REC_SCENARIOS, "longjmp"});
    ASSERT_EQ(r.exit_code(), 0);
    EXPECT_EQ(r.out, "jumped\n");
    const decoded d = r.main();
    expect_clean(d);
    EXPECT_TRUE(d.complete);
    const auto allocs = d.find(record::alloc, 8888);
    EXPECT_EQ(allocs.size(), 15u);
    // The stacks reflect the recursion depth: deep(4) .. deep(0) give five different depths.
    std::set<std::size_t> depths;
    for (const event* e : allocs) depths.insert(d.frames(e->stack).size());
    EXPECT_EQ(depths.size(), 5u);
}

TEST(Recorder, ThreadThatNeverReturnsWhileMainExits) {
    const recorded r = run("thread", {HEAPKIT_REC_SCENARIOS, "thread"});
    ASSERT_EQ(r.exit_code(), 0);
    const decoded d = r.main();
    expect_clean(d);
    EXPECT_TRUE(d.complete);
    EXPECT_EQ(d.find(record::alloc, 1234).size(), 1u);
    EXPECT_GE(d.find(record::alloc, 64).size(), 1u);
    EXPECT_EQ(d.last()->kind, record::end);
}

TEST(Recorder, EveryEndingLeavesAReadableTrace) {
    struct ending {
        const char* mode;
        bool complete;
        end_how how;
        int status;
    };
    for (const ending& e :
         {ending{"exit", true, end_how::exit, 5}, ending{"_exit", true, end_how::exit_now, 6},
          ending{"abort", true, end_how::abort, 128 + SIGABRT}, ending{"kill", false, end_how::exit, 0}}) {
        SCOPED_TRACE(e.mode);
        const recorded r = run(std::string("end") + e.mode, {HEAPKIT_REC_SCENARIOS, e.mode});
        if (e.complete && e.how != end_how::abort) {
            EXPECT_EQ(r.exit_code(), e.status);
        } else {  // killed by the signal
            EXPECT_EQ(r.signal(), e.how == end_how::abort ? SIGABRT : SIGKILL);
        }
        const decoded d = r.main();
        EXPECT_TRUE(d.opened);
        EXPECT_EQ(d.error, "");
        EXPECT_EQ(d.complete, e.complete);
        EXPECT_EQ(d.find(record::alloc, 1234).size(), 1u);
        if (e.complete) {
            EXPECT_EQ(d.last()->kind, record::end);
            EXPECT_EQ(d.last()->flags, static_cast<std::uint64_t>(e.how));
            EXPECT_EQ(d.last()->value, e.status);
        }
    }
}

TEST(Recorder, DlopenAndDlcloseAnnounceTheModule) {
    const recorded r = run("dlopen", {HEAPKIT_REC_SCENARIOS, "dlopen", HEAPKIT_REC_LIB});
    ASSERT_EQ(r.exit_code(), 0);
    const decoded d = r.main();
    expect_clean(d);
    const std::string lib = std::filesystem::canonical(HEAPKIT_REC_LIB).string();
    const auto m =
        std::find_if(d.modules.begin(), d.modules.end(), [&](const module_info& mi) { return mi.path == lib; });
    ASSERT_NE(m, d.modules.end());
    EXPECT_NE(m->unload_seq, UINT64_MAX);
    EXPECT_FALSE(m->segments.empty());
    const auto in_lib = d.find(record::alloc, 4321);
    ASSERT_EQ(in_lib.size(), 1u);
    EXPECT_GT(in_lib[0]->seq, m->load_seq);
    EXPECT_LT(in_lib[0]->seq, m->unload_seq);
    const std::vector<std::uint64_t> frames = d.frames(in_lib[0]->stack);
    ASSERT_FALSE(frames.empty());
    const std::uint64_t ip = frames.front();
    bool inside = false;
    for (const module_segment& s : m->segments) inside |= ip >= s.start && ip < s.start + s.size;
    EXPECT_TRUE(inside) << std::hex << ip;
    const auto after = d.find(record::alloc, 4322);
    ASSERT_EQ(after.size(), 1u);
    EXPECT_GT(after[0]->seq, m->unload_seq);
}

TEST(Recorder, ProgramOutputAndStatusUnchanged) {
    const recorded plain =
        run_program({HEAPKIT_REC_SCENARIOS, "stdout"}, (scratch_dir("out-plain") / "t.hkt").string(), "");
    const recorded r = run("stdout", {HEAPKIT_REC_SCENARIOS, "stdout"});
    EXPECT_EQ(plain.exit_code(), 42);
    EXPECT_EQ(r.exit_code(), 42);
    EXPECT_EQ(r.out, plain.out);
    const decoded d = r.main();
    expect_clean(d);
    EXPECT_EQ(d.last()->value, 42);
}

}  // namespace
