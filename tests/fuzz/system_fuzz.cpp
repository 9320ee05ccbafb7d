// Fuzzes the shadow model over heapkit::system: the reference every other target is compared with.
#include <heapkit/alloc/system.hpp>

#include <memory>

#include "fuzz_main.hpp"

HEAPKIT_FUZZ_TARGET(heapkit::system, std::make_unique<heapkit::system>(), .max_size = 1 << 16)
