// Fuzzes the shadow model over heapkit::buddy with a 4 MiB arena from heapkit::pages.
#include <heapkit/alloc/buddy.hpp>

#include <memory>

#include "fuzz_main.hpp"

HEAPKIT_FUZZ_TARGET(heapkit::buddy<>, std::make_unique<heapkit::buddy<>>(std::size_t{4} << 20), .max_size = 1 << 16)
