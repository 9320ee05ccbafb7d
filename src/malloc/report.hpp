// Misuse reports of heapkit malloc: a message written with one write(2) from
// a stack buffer (never allocating), then abort. Used for foreign pointers,
// pointers that are not at a block start and detected double frees.
#pragma once

#include <cstddef>

namespace heapkit::hkmalloc {

// "heapkit: <op>: pointer 0x... was not allocated by heapkit" and abort.
[[noreturn]] void report_foreign(const char* op, const void* p) noexcept;
// "heapkit: <op>: pointer 0x... is inside a heapkit block but not at its start (0x...)" and abort.
[[noreturn]] void report_not_block_start(const char* op, const void* p, const void* block) noexcept;
// "heapkit: <op>: pointer 0x... was already freed (double free)" and abort.
[[noreturn]] void report_double_free(const char* op, const void* p) noexcept;
// A line to stderr when HEAPKIT_VERBOSE is set: "heapkit: <text> <number>".
void verbose(const char* text, std::size_t value) noexcept;

}  // namespace heapkit::hkmalloc
