// `heapkit profile`: runs a command under the recorder, writes the trace
// where -o says (or heapkit-profile.<program>.<pid>.hkt here), names it on
// stderr with the `heapkit report` line, and ends as the command did (status
// or signal); a missing command is one line and 127; bad options fail.
#include "shell.hpp"
#include "trace/recorded_run.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include <sys/wait.h>

namespace {

using heapkit::testing::shell;
using namespace heapkit::trace::testing;

const std::string heapkit = HEAPKIT_COMMAND;
const std::string scenarios = HEAPKIT_REC_SCENARIOS;

TEST(ProfileCommand, WritesTheTraceAndKeepsTheStatusAndOutput) {
    const auto dir = scratch_dir("cmd-status");
    const std::string trace = (dir / "s.hkt").string();
    const auto r = shell(heapkit + " profile -o " + trace + " -- " + scenarios + " stdout 2>" + (dir / "err").string());
    ASSERT_TRUE(WIFEXITED(r.status));
    EXPECT_EQ(WEXITSTATUS(r.status), 42);
    EXPECT_EQ(r.out.substr(0, 14), "line 0\nline 1\n");
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1000);
    const decoded d = decode(trace);
    EXPECT_TRUE(d.complete) << d.error;
    EXPECT_EQ(d.last()->value, 42);
    const auto err = shell("cat " + (dir / "err").string());
    EXPECT_NE(err.out.find("heapkit profile: wrote " + trace), std::string::npos) << err.out;
    EXPECT_NE(err.out.find("heapkit report " + trace), std::string::npos) << err.out;
}

TEST(ProfileCommand, DefaultNameInTheCurrentDirectoryAndChildren) {
    const auto dir = scratch_dir("cmd-default");
    const auto r = shell("cd " + dir.string() + " && " + heapkit + " profile -- " + scenarios + " fork 2>&1");
    ASSERT_TRUE(WIFEXITED(r.status)) << r.out;
    EXPECT_EQ(WEXITSTATUS(r.status), 0) << r.out;
    int traces = 0;
    std::string main_trace;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        const std::string name = f.path().filename().string();
        ASSERT_EQ(name.rfind("heapkit-profile.hk_rec_scenarios.", 0), 0u) << name;
        ++traces;
        if (name.size() > 4 && name.substr(name.size() - 4) == ".hkt") main_trace = f.path().string();
    }
    EXPECT_EQ(traces, 2);  // the program's and its child's
    ASSERT_FALSE(main_trace.empty());
    EXPECT_NE(r.out.find("heapkit report " + main_trace), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 of child processes"), std::string::npos) << r.out;
    EXPECT_TRUE(decode(main_trace).complete);
}

TEST(ProfileCommand, ReRaisesTheCommandsSignal) {
    const auto dir = scratch_dir("cmd-signal");
    const auto r =
        shell(heapkit + " profile -o " + (dir / "a.hkt").string() + " -- " + scenarios + " abort 2>/dev/null");
    ASSERT_TRUE(WIFSIGNALED(r.status) || (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 128 + SIGABRT));
    // popen runs /bin/sh, which reports a child's signal as 128 + n.
    if (WIFEXITED(r.status)) {
        EXPECT_EQ(WEXITSTATUS(r.status), 128 + SIGABRT);
    }
    const decoded d = decode((dir / "a.hkt").string());
    EXPECT_TRUE(d.complete);
}

TEST(ProfileCommand, MissingCommandIsOneLineAnd127) {
    const auto r = shell(heapkit + " profile -- /nonexistent/heapkit-no-such-program 2>&1");
    ASSERT_TRUE(WIFEXITED(r.status));
    EXPECT_EQ(WEXITSTATUS(r.status), 127);
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find("cannot run '/nonexistent/heapkit-no-such-program'"), std::string::npos) << r.out;
    const auto none = shell(heapkit + " profile 2>&1");
    EXPECT_EQ(WEXITSTATUS(none.status), 127);
}

TEST(ProfileCommand, BadArgumentsFail) {
    const auto r = shell(heapkit + " profile --no-such-option -- true 2>&1");
    ASSERT_TRUE(WIFEXITED(r.status));
    EXPECT_NE(WEXITSTATUS(r.status), 0);
    EXPECT_NE(r.out.find("--no-such-option"), std::string::npos) << r.out;
    const auto rate = shell(heapkit + " profile --sample-rate lots -- true 2>&1");
    EXPECT_NE(WEXITSTATUS(rate.status), 0);
}

TEST(ProfileCommand, AllocatorHeapkitRunsTheProgramOnHeapkitMalloc) {
    const auto dir = scratch_dir("cmd-heapkit");
    const std::string trace = (dir / "h.hkt").string();
    const auto r = shell(heapkit + " profile --allocator heapkit --sample-rate 0 --free-stacks -o " + trace + " -- " +
                         scenarios + " stdout 2>/dev/null");
    EXPECT_EQ(WEXITSTATUS(r.status), 42);
    const decoded d = decode(trace);
    EXPECT_TRUE(d.complete) << d.error;
    bool heapkit_loaded = false;
    for (const auto& m : d.modules) heapkit_loaded |= m.path.find("libheapkit.so") != std::string::npos;
    EXPECT_TRUE(heapkit_loaded);
    EXPECT_GE(d.find(heapkit::trace::record::alloc, 4096).size(), 1u);  // stdout's buffer
}

}  // namespace
