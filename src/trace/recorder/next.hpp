// next: the definitions the program would have called without the recorder
// (`dlsym(RTLD_NEXT, name)`): glibc's malloc, or libheapkit.so's when it is
// preloaded after the recorder, and the C++ runtime's operator new/delete.
//
//   next_fns& n = next();          // resolved on first use, once
//   void* p = n.malloc(size);
//
// Bootstrap: dlsym itself allocates (its error buffers). While the lookup
// runs, the interposed malloc family serves those calls from a small static
// buffer (a bump allocator, never reused: bootstrap_owns(p) tells a free to
// ignore them). A free/realloc of a bootstrap block never reaches the next
// allocator.
//
// Invariant: after resolve_next() returned, every pointer in next_fns is
// non-null (libc defines them all). operator new/delete are looked up by
// interpose_new.cpp, when first called (the C++ runtime may be loaded later).
#pragma once

#include <cstddef>
#include <new>

#include <sys/types.h>

namespace heapkit::trace::recorder {

struct next_fns {
    void* (*malloc)(std::size_t);
    void (*free)(void*);
    void* (*calloc)(std::size_t, std::size_t);
    void* (*realloc)(void*, std::size_t);
    void* (*reallocarray)(void*, std::size_t, std::size_t);
    int (*posix_memalign)(void**, std::size_t, std::size_t);
    void* (*aligned_alloc)(std::size_t, std::size_t);
    void* (*memalign)(std::size_t, std::size_t);
    void* (*valloc)(std::size_t);
    void* (*pvalloc)(std::size_t);
    void* (*mmap)(void*, std::size_t, int, int, int, off_t);
    int (*munmap)(void*, std::size_t);
    void* (*mremap)(void*, std::size_t, std::size_t, int, ...);
    void* (*dlopen)(const char*, int);
    int (*dlclose)(void*);
    pid_t (*fork)();
    int (*execve)(const char*, char* const*, char* const*);
    int (*execvpe)(const char*, char* const*, char* const*);
    int (*fexecve)(int, char* const*, char* const*);
    void (*exit)(int);
    void (*exit_now)(int);    // _exit
    void (*exit_now_c)(int);  // _Exit
    void (*abort)();
    int (*libc_start_main)(int (*)(int, char**, char**), int, char**, void (*)(), void (*)(), void (*)(), void*);
};

// Whether every pointer has been looked up.
extern bool next_ready;
extern next_fns next_table;

void resolve_next() noexcept;
inline next_fns& next() noexcept {
    if (__builtin_expect(!next_ready, 0)) resolve_next();
    return next_table;
}

// While resolve_next() runs (dlsym may allocate), the malloc family serves
// from the bootstrap buffer.
bool resolving_next() noexcept;
void* bootstrap_alloc(std::size_t size, std::size_t align) noexcept;
bool bootstrap_owns(const void* p) noexcept;
std::size_t bootstrap_size(const void* p) noexcept;

}  // namespace heapkit::trace::recorder
