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

void futex_wake(std::uint32_t* word) noexcept {
    ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

namespace {

std::uintptr_t parse_hex(const char*& p, const char* end) noexcept {
    std::uintptr_t v = 0;
    for (; p < end; ++p) {
        const char c = *p;
        if (c >= '0' && c <= '9')
            v = v * 16 + static_cast<std::uintptr_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + static_cast<std::uintptr_t>(c - 'a' + 10);
        else
            break;
    }
    return v;
}

}  // namespace

bool mapping_of(std::uintptr_t addr, std::uintptr_t& begin, std::uintptr_t& end) noexcept {
    const long fd = ::syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096];
    std::size_t have = 0;
    bool found = false;
    for (;;) {
        const long n = ::syscall(SYS_read, fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += static_cast<std::size_t>(n);
        std::size_t line = 0;
        for (std::size_t i = 0; i < have; ++i) {
            if (buf[i] != '\n') continue;
            const char* p = buf + line;
            const char* e = buf + i;
            const std::uintptr_t b = parse_hex(p, e);
            if (p < e && *p == '-') {
                ++p;
                const std::uintptr_t f = parse_hex(p, e);
                if (addr >= b && addr < f && p + 1 < e && p[1] == 'r') {
                    begin = b;
                    end = f;
                    found = true;
                    break;
                }
            }
            line = i + 1;
        }
        if (found) break;
        if (line == 0 && have == sizeof buf)
            have = 0;  // a line longer than the buffer: skip it
        else {
            __builtin_memmove(buf, buf + line, have - line);
            have -= line;
        }
    }
    ::syscall(SYS_close, fd);
    return found;
}

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
