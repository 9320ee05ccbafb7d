// Fuzzes the shadow model over heapkit::bump<> with an allocation limit, so
// that new chunks, the limit's failures and in-place growth are all reached.
#include <heapkit/alloc/bump.hpp>

#include <memory>

#include "fuzz_main.hpp"

namespace {
std::unique_ptr<heapkit::bump<>> make_arena() {
    auto arena = std::make_unique<heapkit::bump<>>(1024);
    arena->set_limit(std::size_t{4} << 20);
    return arena;
}
}  // namespace

HEAPKIT_FUZZ_TARGET(heapkit::bump<>, make_arena(), .max_size = 1 << 16)
