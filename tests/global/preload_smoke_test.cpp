// libheapkit.so preloaded into real programs: /bin/ls, python3 and sort run
// with LD_PRELOAD and their output is checked (built without sanitizers; the
// library path comes from the build as HEAPKIT_SHARED_LIBRARY).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "shell.hpp"

#ifndef HEAPKIT_SHARED_LIBRARY
#define HEAPKIT_SHARED_LIBRARY ""
#endif

namespace {

// Runs `command` through /bin/sh with libheapkit.so preloaded; returns stdout and the exit status.
std::string run(const std::string& command, int* status, const std::string& env = "") {
    const std::string full = env + " LD_PRELOAD=" + std::string(HEAPKIT_SHARED_LIBRARY) + " " + command;
    heapkit::testing::shell_output r = heapkit::testing::shell(full);
    *status = r.status;
    return r.out;
}

bool have(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

class preload : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string(HEAPKIT_SHARED_LIBRARY).empty()) GTEST_SKIP() << "built without libheapkit.so";
    }
};

}  // namespace

TEST_F(preload, ls_lists_a_directory) {
    int status = 0;
    const std::string out = run("/bin/ls -a / 2>/dev/null", &status);
    EXPECT_EQ(status, 0);
    EXPECT_NE(out.find("usr\n"), std::string::npos) << out;
    EXPECT_NE(out.find("..\n"), std::string::npos) << out;
}

TEST_F(preload, a_c_program_does_not_load_the_cxx_runtime) {
    // libheapkit.so needs only libc: cat (a C program) maps no libstdc++, libm or libgcc_s because of it.
    int status = 0;
    const std::string maps = run("/bin/cat /proc/self/maps", &status);
    EXPECT_EQ(status, 0);
    EXPECT_NE(maps.find("libheapkit.so"), std::string::npos) << maps;
    EXPECT_EQ(maps.find("libstdc++"), std::string::npos) << maps;
    EXPECT_EQ(maps.find("libgcc_s"), std::string::npos) << maps;
}

#if defined(HEAPKIT_CXX_MODULE_HOST) && defined(HEAPKIT_CXX_MODULE)
TEST_F(preload, a_cxx_module_loaded_locally_by_a_c_host_gets_bad_alloc) {
    // libheapkit.so finds the module's C++ runtime although it is not in the global scope:
    // the new_handler is called, then std::bad_alloc is thrown; nothrow new returns null.
    int status = 0;
    const std::string out = run(std::string(HEAPKIT_CXX_MODULE_HOST) + " " + HEAPKIT_CXX_MODULE + " 2>&1", &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "new: bad_alloc, handler calls 3\nnothrow new: null, handler calls 3\n");
}
#endif

TEST_F(preload, python_computes_with_threads) {
    if (!have("python3")) GTEST_SKIP() << "no python3";
    int status = 0;
    const std::string out =
        run("python3 -c \"import threading, json; r=[]\n"
            "def w(k): r.append(sum(len(json.dumps(list(range(i)))) for i in range(k)))\n"
            "ts=[threading.Thread(target=w, args=(300,)) for _ in range(4)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]; print(sorted(r)[0], len(r))\" 2>/dev/null",
            &status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(out, "196357 4\n");
}

TEST_F(preload, sort_orders_many_lines) {
    int status = 0;
    const std::string out = run("sh -c 'seq 1 200000 | sort -r | sort -n | tail -n 2' 2>/dev/null", &status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(out, "199999\n200000\n");
}

TEST_F(preload, stats_are_printed_at_exit) {
    int status = 0;
    const std::string out = run("/bin/ls / 2>&1 >/dev/null", &status, "HEAPKIT_STATS=1");
    EXPECT_EQ(status, 0);
    EXPECT_NE(out.find("heapkit: malloc statistics"), std::string::npos) << out;
}
