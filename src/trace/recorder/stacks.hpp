// stacks: the call stack of an event, as the id of a node in the process's
// stack trie. A node is (parent node, return address); id 0 is the empty
// stack; the outermost frame's parent is 0.
//
//   unw_backtrace ─► ips (innermost first, the recorder's own frames skipped)
//        │ compared, outermost first, with the thread's previous stack (slot.cache):
//        │ the unchanged outer part reuses its node ids without a lookup
//        ▼
//   trie: open-addressing hash table (parent, ip) -> id, mmap'ed, under a
//   spinlock, doubled by rehashing into a new mapping at half load.
//   A node created here is announced by a stack_node record in the thread's
//   ring, before the event that uses it (the reader accepts any order).
//
// Invalidation: a dlclose that unloads a module, and a fork child (whose
// trace has none of the parent's stack_node records), empty the table and
// bump `epoch` (every thread's cache is stale then); ids keep increasing, so a
// library loaded later at the same address gets new nodes.
//
// Never called from a nested (signal handler) event: those carry stack 0.
#pragma once

#include "trace/recorder/threads.hpp"

#include <cstdint>

namespace heapkit::trace::recorder {

// HEAPKIT_PROFILE_UNWINDER=backtrace (default: libunwind's unw_backtrace with its
// per-thread cache) | step (an unw_step loop) | fp (saved frame pointers: only
// right for code built with them) | none (every stack empty): for measuring
// the unwinders against each other, not for users. A ",norepeat" suffix turns
// off the repeated-stack fast path (to check that it changes no stack).
void stacks_choose_unwinder(const char* name) noexcept;

// Records the frames' range of the recorder's own code (skipped) and sets libunwind's caching.
void stacks_init() noexcept;

// The stack id of the calling thread's current call (stack_node records for
// new nodes go to s's ring first). `frame`: the interposer's frame address
// (0: unknown), for the repeated-stack fast path (stacks.cpp).
std::uint64_t current_stack(slot& s, std::uintptr_t frame) noexcept;

// Forgets every node (see above).
void stacks_invalidate() noexcept;

// The trie's lock, for pthread_atfork.
void stacks_lock() noexcept;
void stacks_unlock() noexcept;
void stacks_after_fork() noexcept;  // in the child: unlock, then invalidate

}  // namespace heapkit::trace::recorder
