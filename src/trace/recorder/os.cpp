// os: raw system calls for the recorder's own use. See os.hpp.
#include "trace/recorder/os.hpp"

#include <cerrno>

#include <fcntl.h>
#include <linux/futex.h>

namespace heapkit::trace::recorder {

bool write_all(int fd, const void* p, std::size_t n) noexcept {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        const long w = ::syscall(SYS_write, fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        c += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

long read_small_file(const char* path, char* buf, std::size_t cap) noexcept {
    const long fd = ::syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    std::size_t got = 0;
    while (got < cap) {
        const long r = ::syscall(SYS_read, fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    ::syscall(SYS_close, fd);
    return static_cast<long>(got);
}

void futex_wait(std::uint32_t* word, std::uint32_t expected, std::uint64_t timeout_ns) noexcept {
    timespec ts{static_cast<time_t>(timeout_ns / 1000000000u), static_cast<long>(timeout_ns % 1000000000u)};
    ::syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0);
}

void futex_wake(std::uint32_t* word) noexcept { ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0); }

char* put_decimal(char* p, std::uint64_t v) noexcept {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) *p++ = tmp[--n];
    *p = '\0';
    return p;
}

char* put_cstr(char* p, const char* s, std::size_t cap) noexcept {
    std::size_t i = 0;
    while (s[i] != '\0' && i + 1 < cap) {
        p[i] = s[i];
        ++i;
    }
    p[i] = '\0';
    return p + i;
}

}  // namespace heapkit::trace::recorder
