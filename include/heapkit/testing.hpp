// heapkit::testing::check_all_allocation_failures: runs a function once for
// every allocation it makes, with that allocation failing, and checks that
// nothing leaks (Zig's std.testing.checkAllAllocationFailures is the model).
//
//   auto report = heapkit::testing::check_all_allocation_failures(
//       [](heapkit::testing::failing_allocator& a) { build_my_structure(a); });
//   EXPECT_TRUE(report.ok) << report.message;
//
// The function receives a failing<system> and uses it for everything it
// allocates. First it runs with no failure, which counts its allocations N.
// Then, for i = 0 .. N-1, it runs again with allocation i failing (and every
// later one, as after a real out-of-memory). A std::bad_alloc that escapes
// the function is an expected way to report the failure. After each run the
// allocator must hold no live block. This is test code: it may allocate and
// catch exceptions.
#pragma once

#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/failing.hpp>

#include <cstddef>
#include <new>
#include <string>

namespace heapkit::testing {

using failing_allocator = failing<system>;

struct failure_report {
    bool ok = true;
    std::size_t allocations = 0;       // allocations of the run without failures
    std::size_t failing_index = 0;     // the index whose failure went wrong (when !ok)
    std::size_t leaked_bytes = 0;      // live bytes left after that run
    std::size_t leaked_blocks = 0;     // live blocks left after that run
    std::string message;               // what went wrong, for a test's output
};

template <class Fn>
failure_report check_all_allocation_failures(Fn&& fn) {
    failure_report report;
    auto run = [&](failure_policy policy, std::size_t index) -> bool {
        failing_allocator a(policy);
        try {
            fn(a);
        } catch (const std::bad_alloc&) {
            // the failure surfaced as an exception: allowed
        }
        if (index == failure_policy::never) report.allocations = a.allocations();
        if (a.live_blocks() != 0 || a.live_bytes() != 0) {
            report.ok = false;
            report.failing_index = index;
            report.leaked_bytes = a.live_bytes();
            report.leaked_blocks = a.live_blocks();
            report.message = index == failure_policy::never
                                 ? "the run without failures leaked "
                                 : "with allocation #" + std::to_string(index) + " failing, the function leaked ";
            report.message += std::to_string(report.leaked_bytes) + " bytes in " +
                              std::to_string(report.leaked_blocks) + " blocks";
            return false;
        }
        if (index != failure_policy::never && a.failures() == 0) {
            report.ok = false;
            report.failing_index = index;
            report.message = "allocation #" + std::to_string(index) +
                             " was never made: the function allocates differently from run to run";
            return false;
        }
        return true;
    };
    if (!run(failure_policy{}, failure_policy::never)) return report;
    for (std::size_t i = 0; i < report.allocations; ++i) {
        failure_policy policy;
        policy.fail_at = i;
        if (!run(policy, i)) return report;
    }
    return report;
}

}  // namespace heapkit::testing
