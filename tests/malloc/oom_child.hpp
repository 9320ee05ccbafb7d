// Out-of-memory tests' helpers: run a function in a forked child under an
// address-space limit (RLIMIT_AS) and bring back a small result struct, and
// allocate until NULL with the blocks linked through themselves (so the
// bookkeeping takes no memory of its own).
//
// The limit is relative: the child's address space as it is now plus a
// budget (the issue's `ulimit -v 400000` is ~390 MiB for the program and its
// allocator together). Sanitizer runtimes reserve terabytes of shadow first,
// and a relative limit leaves that alone.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace heapkit::testing::oom {

constexpr std::size_t MiB = std::size_t{1} << 20;

// This process's address space (VmSize) in bytes, 0 if unknown. Reads
// /proc/self/statm with read(2): no allocation.
inline std::size_t address_space_now() {
    char buf[128];
    const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    std::size_t pages = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pages = pages * 10 + static_cast<std::size_t>(buf[i] - '0');
    return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Limits this process's address space to what it has now plus `budget` bytes.
inline bool limit_address_space(std::size_t budget) {
    const std::size_t now = address_space_now();
    if (now == 0) return false;
    rlimit lim{now + budget, now + budget};
    return ::setrlimit(RLIMIT_AS, &lim) == 0;
}

// Runs fn(&result) in a forked child; true when the child exited 0 and sent the result.
// `Result` is trivially copyable; fn returns the child's exit status.
template <typename Result, typename Fn>
bool run_in_child(Result* out, Fn fn) {
    static_assert(std::is_trivially_copyable_v<Result>);
    int fds[2];
    if (::pipe(fds) != 0) return false;
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        ::close(fds[0]);
        Result r{};
        const int status = fn(&r);
        const char* p = reinterpret_cast<const char*>(&r);
        std::size_t left = sizeof r;
        while (left > 0) {
            const ssize_t w = ::write(fds[1], p, left);
            if (w <= 0) ::_exit(3);
            p += w;
            left -= static_cast<std::size_t>(w);
        }
        ::_exit(status);
    }
    ::close(fds[1]);
    std::size_t got = 0;
    char* p = reinterpret_cast<char*>(out);
    while (got < sizeof(Result)) {
        const ssize_t n = ::read(fds[0], p + got, sizeof(Result) - got);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return got == sizeof(Result) && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct fill_result {
    std::size_t blocks = 0;
    std::size_t bytes = 0;  // requested bytes of the blocks obtained
    int error = 0;          // errno at the first NULL
};

// Allocates blocks of `size` (>= 16) with alloc until it returns NULL (or
// `max_bytes` are reached), linking them through their first word into *head.
template <typename Alloc>
fill_result fill_until_null(Alloc alloc, std::size_t size, void** head, std::size_t max_bytes = ~std::size_t{0}) {
    fill_result r;
    while (r.bytes < max_bytes) {
        errno = 0;
        void* p = alloc(size);
        if (p == nullptr) {
            r.error = errno;
            break;
        }
        std::memcpy(p, head, sizeof(void*));
        *head = p;
        ++r.blocks;
        r.bytes += size;
    }
    return r;
}

// Frees a list made by fill_until_null; returns the blocks freed.
template <typename Free>
std::size_t free_list(Free release, void** head) {
    std::size_t n = 0;
    while (*head != nullptr) {
        void* next;
        std::memcpy(&next, *head, sizeof(void*));
        release(*head);
        *head = next;
        ++n;
    }
    return n;
}

}  // namespace heapkit::testing::oom
