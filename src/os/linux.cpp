// heapkit::os::linux_platform: the only code in heapkit that calls mmap, munmap,
// mprotect, mremap and madvise. See include/heapkit/os/linux.hpp.
#include <heapkit/os/linux.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace heapkit::os {
namespace {

constinit std::atomic<std::size_t> g_page_size{0};
constinit std::atomic<std::size_t> g_huge_page_size{~std::size_t{0}};  // ~0: not read yet

// Reads a small file into buf without allocating; returns bytes read or -1.
ssize_t read_small_file(const char* path, char* buf, std::size_t cap) noexcept {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n;
    do {
        n = ::read(fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    ::close(fd);
    return n;
}

std::size_t parse_decimal(const char* s, const char* end) noexcept {
    std::size_t v = 0;
    while (s < end && (*s < '0' || *s > '9')) ++s;
    while (s < end && *s >= '0' && *s <= '9') v = v * 10 + static_cast<std::size_t>(*s++ - '0');
    return v;
}

// mmap that reports failure as nullptr.
void* mmap_anon(std::size_t size, int prot) noexcept {
    void* p = ::mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

// Maps `size` bytes aligned to `align` with protection `prot`, trimming an
// over-sized mapping when the alignment exceeds the page size.
void* map_aligned(std::size_t size, std::size_t align, int prot) noexcept {
    const std::size_t page = linux_platform::page_size();
    if (size == 0 || size % page != 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return nullptr;
    }
    if (align <= page) return mmap_anon(size, prot);
    if (size > SIZE_MAX - align) {
        errno = ENOMEM;
        return nullptr;
    }
    char* raw = static_cast<char*>(mmap_anon(size + align, prot));
    if (raw == nullptr) return nullptr;
    const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(raw);
    char* aligned = reinterpret_cast<char*>((base + align - 1) & ~(std::uintptr_t{align} - 1));
    const std::size_t head = static_cast<std::size_t>(aligned - raw);
    const std::size_t tail = align - head;
    if (head != 0) ::munmap(raw, head);
    if (tail != 0) ::munmap(aligned + size, tail);
    return aligned;
}

}  // namespace

std::size_t linux_platform::page_size() noexcept {
    std::size_t p = g_page_size.load(std::memory_order_relaxed);
    if (p == 0) {
        long v = ::sysconf(_SC_PAGESIZE);
        p = v > 0 ? static_cast<std::size_t>(v) : 4096;
        g_page_size.store(p, std::memory_order_relaxed);
    }
    return p;
}

std::size_t linux_platform::huge_page_size() noexcept {
    std::size_t h = g_huge_page_size.load(std::memory_order_relaxed);
    if (h == ~std::size_t{0}) {
        char buf[64];
        ssize_t n = read_small_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", buf, sizeof buf);
        h = n > 0 ? parse_decimal(buf, buf + n) : 0;
        g_huge_page_size.store(h, std::memory_order_relaxed);
    }
    return h;
}

void* linux_platform::reserve(std::size_t size, std::size_t align) noexcept {
    return map_aligned(size, align, PROT_NONE);
}

bool linux_platform::commit(void* p, std::size_t size) noexcept {
    return ::mprotect(p, size, PROT_READ | PROT_WRITE) == 0;
}

bool linux_platform::decommit(void* p, std::size_t size) noexcept {
    // MADV_DONTNEED drops the pages now; PROT_NONE makes a stray access fault.
    if (::madvise(p, size, MADV_DONTNEED) != 0) return false;
    return ::mprotect(p, size, PROT_NONE) == 0;
}

bool linux_platform::release(void* p, std::size_t size) noexcept { return ::munmap(p, size) == 0; }

void* linux_platform::map(std::size_t size, std::size_t align) noexcept {
    return map_aligned(size, align, PROT_READ | PROT_WRITE);
}

void* linux_platform::remap(void* p, std::size_t old_size, std::size_t new_size) noexcept {
    void* q = ::mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? nullptr : q;
}

// ThreadSanitizer intercepts mmap and munmap (forgetting the accesses to the
// range) but not mremap: memory that reaches another thread through a moved or
// extended range would be reported as a race with the range's earlier life.
// Under TSan these two report failure, and callers take their fallback (copy).
#if defined(__SANITIZE_THREAD__)
#define HEAPKIT_OS_MREMAP_RESIZE 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HEAPKIT_OS_MREMAP_RESIZE 0
#endif
#endif
#ifndef HEAPKIT_OS_MREMAP_RESIZE
#define HEAPKIT_OS_MREMAP_RESIZE 1
#endif

bool linux_platform::resize_in_place(void* p, std::size_t old_size, std::size_t new_size) noexcept {
#if HEAPKIT_OS_MREMAP_RESIZE
    return ::mremap(p, old_size, new_size, 0) != MAP_FAILED;
#else
    (void)p, (void)old_size, (void)new_size;
    errno = ENOSYS;
    return false;
#endif
}

bool linux_platform::move_to(void* p, std::size_t old_size, std::size_t new_size, void* target) noexcept {
#if HEAPKIT_OS_MREMAP_RESIZE
    return ::mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target) == target;
#else
    (void)p, (void)old_size, (void)new_size, (void)target;
    errno = ENOSYS;
    return false;
#endif
}

bool linux_platform::purge(void* p, std::size_t size) noexcept { return ::madvise(p, size, MADV_DONTNEED) == 0; }

bool linux_platform::advise_huge(void* p, std::size_t size, bool enable) noexcept {
    return ::madvise(p, size, enable ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == 0;
}

std::size_t linux_platform::resident_bytes() noexcept {
    char buf[128];
    ssize_t n = read_small_file("/proc/self/statm", buf, sizeof buf);
    if (n <= 0) return 0;
    const char* end = buf + n;
    const char* s = buf;
    while (s < end && *s != ' ') ++s;  // skip total size; the second field is resident pages
    return parse_decimal(s, end) * page_size();
}

}  // namespace heapkit::os
