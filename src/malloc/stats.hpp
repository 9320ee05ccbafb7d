// stats: heapkit malloc's figures. Each heap keeps its own counters (single
// writer, relaxed atomics, no read-modify-write on the fast path); a read
// sums every heap ever made plus the frees of threads without a heap. The
// sums are exact once the threads involved are quiet, approximate while they
// run. Printing uses line_buffer (no allocation); HEAPKIT_STATS=1 prints them
// at exit from a destructor function.
#pragma once

#include <heapkit/malloc.hpp>

namespace heapkit::hkmalloc {

// Writes the statistics table to fd.
void stats_print(int fd) noexcept;

}  // namespace heapkit::hkmalloc
