// `heapkit run -- CMD ARGS...` (tools/heapkit/run.cpp): the command runs with
// libheapkit.so preloaded (a helper reports whether heapkit serves its
// malloc, and HEAPKIT_STATS prints at exit), an existing LD_PRELOAD is kept,
// the exit status and signals pass through, and a missing command or
// library is a clear error with status 127.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <sys/wait.h>

#include "shell.hpp"

#ifndef HEAPKIT_RUN_COMMAND
#define HEAPKIT_RUN_COMMAND ""
#endif
#ifndef HEAPKIT_LIFECYCLE_HELPER
#define HEAPKIT_LIFECYCLE_HELPER ""
#endif
#ifndef HEAPKIT_EARLY_LIBRARY
#define HEAPKIT_EARLY_LIBRARY ""
#endif

namespace {

using output = heapkit::testing::shell_output;
using heapkit::testing::shell;

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

class heapkit_run : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string(HEAPKIT_RUN_COMMAND).empty()) GTEST_SKIP() << "built without the heapkit command";
    }
    const std::string heapkit = HEAPKIT_RUN_COMMAND;
    const std::string helper = HEAPKIT_LIFECYCLE_HELPER;
};

}  // namespace

TEST_F(heapkit_run, the_command_runs_on_heapkit_malloc) {
    output r = shell("env -u LD_PRELOAD " + helper + " owned");
    EXPECT_EQ(r.out, "heapkit absent\n");  // on its own: glibc
    r = shell("env -u LD_PRELOAD " + heapkit + " run -- " + helper + " owned");
    EXPECT_EQ(exit_code(r.status), 0);
    EXPECT_EQ(r.out, "heapkit active\n");
    r = shell("env -u LD_PRELOAD " + heapkit + " run " + helper + " owned");  // without --
    EXPECT_EQ(r.out, "heapkit active\n");
}

TEST_F(heapkit_run, stats_flag_prints_heapkit_statistics_of_any_program) {
    const output r = shell(heapkit + " run --stats -- /bin/ls / 2>&1 >/dev/null");
    EXPECT_EQ(exit_code(r.status), 0);
    EXPECT_NE(r.out.find("heapkit: malloc statistics"), std::string::npos) << r.out;
}

TEST_F(heapkit_run, arguments_after_the_command_are_the_commands) {
    const output r = shell(heapkit + " run -- sh -c 'echo \"$0 $1 $#\"' --stats -v");
    EXPECT_EQ(r.out, "--stats -v 1\n");
}

TEST_F(heapkit_run, an_existing_ld_preload_is_kept) {
    if (std::string(HEAPKIT_EARLY_LIBRARY).empty()) GTEST_SKIP();
#ifdef HEAPKIT_SANITIZED_COMMAND
    GTEST_SKIP() << "heapkit is built with a sanitizer, whose runtime must come first in LD_PRELOAD";
#endif
    const output r =
        shell(std::string("LD_PRELOAD=") + HEAPKIT_EARLY_LIBRARY + " " + heapkit + " run -- sh -c 'echo $LD_PRELOAD'");
    const std::string expected_prefix = std::string(HEAPKIT_EARLY_LIBRARY) + ":";
    EXPECT_EQ(r.out.rfind(expected_prefix, 0), 0u) << r.out;
    EXPECT_NE(r.out.find("libheapkit.so\n"), std::string::npos) << r.out;
}

TEST_F(heapkit_run, exit_status_and_signals_pass_through) {
    EXPECT_EQ(exit_code(shell(heapkit + " run -- sh -c 'exit 7'").status), 7);
    EXPECT_EQ(exit_code(shell(heapkit + " run -- true").status), 0);
    const output r = shell("exec " + heapkit + " run -- sh -c 'kill -TERM $$'");  // exec: no shell in between
    EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM) << r.status;
}

TEST_F(heapkit_run, missing_command_or_library_is_a_clear_error) {
    output r = shell(heapkit + " run -- heapkit-no-such-program 2>&1");
    EXPECT_EQ(exit_code(r.status), 127);
    EXPECT_EQ(r.out, "heapkit run: cannot run 'heapkit-no-such-program': No such file or directory\n");
    r = shell(heapkit + " run 2>&1");
    EXPECT_EQ(exit_code(r.status), 127);
    EXPECT_NE(r.out.find("heapkit run: no command given"), std::string::npos) << r.out;
    r = shell(heapkit + " run --library /nonexistent/libheapkit.so -- true 2>&1");
    EXPECT_EQ(exit_code(r.status), 127);
    EXPECT_NE(r.out.find("heapkit run: libheapkit.so not found (looked at /nonexistent/libheapkit.so)"),
              std::string::npos)
        << r.out;
}
