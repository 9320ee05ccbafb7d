// The alloc-error hook: what happens when an allocation that must not fail
// does (Rust's std::alloc::handle_alloc_error and set_alloc_error_hook).
//
// handle_alloc_error(l) calls the current hook and then aborts; it never
// returns. The default hook writes "memory allocation of N bytes failed" and
// a newline to standard error with a single write(2) from a stack buffer: it
// never allocates, so it works when the heap is exhausted. The hook is a plain
// function pointer stored atomically; it may be replaced from any thread.
#pragma once

#include <heapkit/layout.hpp>

#include <string_view>

namespace heapkit {

using alloc_error_hook = void (*)(layout) noexcept;

// Reports an allocation failure for `l` and aborts the process.
[[noreturn]] void handle_alloc_error(layout l) noexcept;

// Installs `hook` (nullptr restores the default) and returns the previous hook.
alloc_error_hook set_alloc_error_hook(alloc_error_hook hook) noexcept;

// Restores the default hook and returns the one that was installed.
alloc_error_hook take_alloc_error_hook() noexcept;

// The default hook: writes "memory allocation of N bytes failed\n" to fd 2.
void default_alloc_error_hook(layout l) noexcept;

// Writes "heapkit: <message>\n" to standard error without allocating and
// aborts. For misuse that cannot be reported as a value (a foreign free, a
// corrupt header).
[[noreturn]] void fatal(std::string_view message) noexcept;

}  // namespace heapkit
