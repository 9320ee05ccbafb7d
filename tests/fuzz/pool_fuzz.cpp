// Fuzzes the shadow model over heapkit::pool_set<>: every size class, and
// requests above the largest class that go to the parent.
#include <heapkit/alloc/pool_set.hpp>

#include <memory>

#include "fuzz_main.hpp"

HEAPKIT_FUZZ_TARGET(heapkit::pool_set<>, std::make_unique<heapkit::pool_set<>>(), .max_size = 1 << 13)
