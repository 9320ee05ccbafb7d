// Fuzzes the shadow model over heapkit::tlsf in a 1 MiB buffer that runs out.
#include <heapkit/alloc/tlsf.hpp>

#include <memory>

#include "fixed_buffer.hpp"
#include "fuzz_main.hpp"

using tlsf_on_buffer = heapkit::testing::on_buffer<heapkit::tlsf<>, std::size_t{1} << 20>;

HEAPKIT_FUZZ_TARGET(tlsf_on_buffer, std::make_unique<tlsf_on_buffer>(), .max_size = 1 << 16)
