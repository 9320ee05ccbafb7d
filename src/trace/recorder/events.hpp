// events: what the interposers call after forwarding a call, to record it.
//
//   void* p = next().malloc(n);
//   if (should_record()) record_alloc(op::malloc, p, n, 0);   // keeps errno
//
// should_record() is the whole fast-path filter: the session records, the
// thread is neither the writer nor inside one of the recorder's own calls
// out (dlsym, pthread_create). record_* are out of line (the _slow part): they
// sample, take the thread's slot, unwind (unless this call interrupted the
// recorder on the same thread: a signal handler's event carries stack 0),
// and append the record.
#pragma once

#include "trace/format.hpp"
#include "trace/recorder/session.hpp"
#include "trace/recorder/threads.hpp"

#include <cstddef>
#include <cstdint>

namespace heapkit::trace::recorder {

inline bool should_record() noexcept {
    const thread_state& t = tls_state;
    return session_recording() && t.internal == 0 && !t.is_writer;
}

// `frame`: the interposer's frame address (HK_FRAME), which lets stacks.cpp
// recognise a call made again from the very same stack without unwinding.
#define HK_FRAME reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0))
void record_alloc(op o, const void* addr, std::size_t size, std::size_t align, std::uintptr_t frame) noexcept;
void record_free(op o, const void* addr, std::size_t size, std::size_t align, std::uintptr_t frame) noexcept;
void record_realloc(op o, const void* old_addr, const void* new_addr, std::size_t size, std::uintptr_t frame) noexcept;
void record_mmap(const void* addr, std::size_t length, int prot, int flags, int fd, std::uintptr_t frame) noexcept;
void record_munmap(const void* addr, std::size_t length, std::uintptr_t frame) noexcept;
void record_mremap(const void* old_addr, std::size_t old_length, const void* new_addr, std::size_t new_length,
                   std::uintptr_t frame) noexcept;

// Simple events of the process (no stack), written to the calling thread's slot.
void record_main_start() noexcept;
void record_fork(long child_pid, const char* child_trace) noexcept;
void record_exec(const char* path) noexcept;

// The first event of the process prepares the session (session.hpp).
void ensure_prepared() noexcept;

}  // namespace heapkit::trace::recorder
