// Fuzzes the shadow model over a composition of every compose wrapper:
//
//   segregator<1024,
//     fallback<fixed 16 KiB buffer, linear_bucketizer<counting<system>, 64, 1024, 64>>,   small
//     affix<locked<counting<system>>, canary, canary>>                                     large
//
// Small blocks come from the buffer until it is full, then from per-size
// buckets; grows move blocks between the buffer, the buckets and the large
// side; every large block carries canaries on both sides. All parts keep
// figures, so the model checks the combined stats after every step.
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/affix.hpp>
#include <heapkit/compose/bucketizer.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/fallback.hpp>
#include <heapkit/compose/locked.hpp>
#include <heapkit/compose/segregator.hpp>

#include <memory>

#include "compose/test_allocators.hpp"
#include "fuzz_main.hpp"

namespace {
using small_part = heapkit::fallback<heapkit::testing::fixed_buffer<1 << 14>,
                                     heapkit::linear_bucketizer<heapkit::counting<heapkit::system>, 64, 1024, 64>>;
using large_part =
    heapkit::affix<heapkit::locked<heapkit::counting<heapkit::system>>, heapkit::canary, heapkit::canary>;
using composed = heapkit::segregator<1024, small_part, large_part>;
static_assert(heapkit::has_stats<composed>);
}  // namespace

HEAPKIT_FUZZ_TARGET(composed, std::make_unique<composed>(), .max_size = 1 << 14)
