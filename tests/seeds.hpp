// The seeds of the randomised tests: a fixed list that always runs, plus one
// fresh seed per run (GoogleTest's --gtest_random_seed), which HEAPKIT_SEED
// replaces, so the seed a failing test printed can be replayed:
//   HEAPKIT_SEED=12345 ctest -R tlsf
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace heapkit::testing {

inline std::vector<std::uint64_t> seeds() {
    std::uint64_t fresh = static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
    if (const char* s = std::getenv("HEAPKIT_SEED")) fresh = std::strtoull(s, nullptr, 10);
    return {1, 2, 3, 42, fresh};
}

}  // namespace heapkit::testing
