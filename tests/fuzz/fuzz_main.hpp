// The body of every allocator fuzz target: the fuzzer's bytes drive the
// shadow model (tests/shadow_model.hpp) over a fresh allocator, and any
// broken invariant aborts with the model's message.
//
//   #include "fuzz_main.hpp"
//   HEAPKIT_FUZZ_TARGET(heapkit::bump<>, make())
#pragma once

#include "shadow_model.hpp"

#include <cstdio>
#include <cstdlib>

#define HEAPKIT_FUZZ_TARGET(Allocator, make_expr, ...)                                      \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {      \
        auto alloc = make_expr;                                                             \
        {                                                                                   \
            ::heapkit::testing::shadow_driver<Allocator> d(*alloc, {__VA_ARGS__});          \
            ::heapkit::testing::op_source src(data, size);                                  \
            while (d.step(src)) {                                                           \
            }                                                                               \
            d.release_all();                                                                \
            if (!d.ok()) {                                                                  \
                std::fprintf(stderr, "heapkit fuzz: %s\n", d.error().c_str());              \
                std::abort();                                                               \
            }                                                                               \
        }                                                                                   \
        return 0;                                                                           \
    }
