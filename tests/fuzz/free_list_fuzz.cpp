// Fuzzes the shadow model over heapkit::free_list (first fit) in a 1 MiB buffer that runs out.
#include <heapkit/alloc/free_list.hpp>

#include <memory>

#include "fixed_buffer.hpp"
#include "fuzz_main.hpp"

using free_list_on_buffer = heapkit::testing::on_buffer<heapkit::free_list<heapkit::first_fit>, std::size_t{1} << 20>;

HEAPKIT_FUZZ_TARGET(free_list_on_buffer, std::make_unique<free_list_on_buffer>(), .max_size = 1 << 16)
