// os: the few operating-system calls the recorder makes for itself, as raw
// system calls. The recorder interposes mmap/munmap/mremap, so its own
// mappings (rings, tables, zstd's workspace) go straight to the kernel and are
// never recorded; nothing here touches the heap or errno of the program (each
// caller that could be seen by the program saves and restores errno itself).
//
// Invariants: every function is async-signal-safe and usable before libc has
// finished initialising (no TLS but errno, no locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace heapkit::trace::recorder {

// Anonymous private read-write pages (reserved lazily by the kernel), or nullptr.
inline void* map_pages(std::size_t bytes) noexcept {
    const long r = ::syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return r == -1 ? nullptr : reinterpret_cast<void*>(r);
}
inline void unmap_pages(void* p, std::size_t bytes) noexcept { ::syscall(SYS_munmap, p, bytes); }

// Writes all of [p, p + n) to fd (retrying short writes and EINTR); false on error.
bool write_all(int fd, const void* p, std::size_t n) noexcept;

// Reads up to `cap` bytes of a (small, /proc) file into buf; the count, or -1.
long read_small_file(const char* path, char* buf, std::size_t cap) noexcept;

// Nanoseconds of CLOCK_MONOTONIC_COARSE (a few ns through the vDSO; ticks every few ms).
inline std::uint64_t coarse_now_ns() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
inline std::uint64_t clock_ns(clockid_t c) noexcept {
    timespec ts;
    ::clock_gettime(c, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// futex wait (with a timeout in ns) while *word == expected, and wake.
void futex_wait(std::uint32_t* word, std::uint32_t expected, std::uint64_t timeout_ns) noexcept;
void futex_wake(std::uint32_t* word) noexcept;

// The calling thread's id and the process's id, straight from the kernel.
inline long current_tid() noexcept { return ::syscall(SYS_gettid); }
inline long current_pid() noexcept { return ::syscall(SYS_getpid); }

// The readable mapping of /proc/self/maps that contains `addr` (read with raw
// system calls, a line at a time through a small buffer: no heap, no libc state).
bool mapping_of(std::uintptr_t addr, std::uintptr_t& begin, std::uintptr_t& end) noexcept;

// Small formatting without the heap: decimal of v at p, returns the end.
char* put_decimal(char* p, std::uint64_t v) noexcept;
// Copies the NUL-terminated s at p (at most cap - 1 bytes, NUL-terminated); returns the end (at the NUL).
char* put_cstr(char* p, const char* s, std::size_t cap) noexcept;

}  // namespace heapkit::trace::recorder
