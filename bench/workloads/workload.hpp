// The shared pieces of the whole-program allocator workloads in
// bench/workloads/: a deterministic random generator, the options every
// workload takes, block stamps that detect overlapping or corrupted blocks,
// and the lines the runner (bench/malloc_bench.py) reads.
//
// Each workload is an ordinary program that calls malloc & co.; the allocator
// under test is swapped in with LD_PRELOAD. It does a fixed amount of work
// (fixed seed), checks its own data and exits non-zero when something is
// wrong, printing "FAIL <workload>: <what>" on stderr.
//
//   options:  --scale=X  multiply the amount of work by X (default 1)
//             --quick    the same as --scale=0.1 (a smoke test)
//             --threads=N  threads for the threaded workloads (default 2)
//   output:   "RESULT key=value" lines (numbers), e.g. rss_after_kb=1234
//
// A stamp: a block of n >= 16 bytes holds its size in its first 8 bytes and
// a hash of (address, size) in its last 8; a smaller one holds one hash byte
// at each end. Two live blocks that overlap, or a block handed out twice,
// break one of the stamps, and the check before each free catches it.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace heapkit::workload {

// splitmix64: small, fast, and the same sequence on every run.
struct rng {
    std::uint64_t state;
    explicit rng(std::uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) {}
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    // In [lo, hi].
    std::uint64_t range(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

struct options {
    double scale = 1.0;
    int threads = 2;
    // `base` scaled, at least `min`.
    long long count(long long base, long long min = 1) const {
        long long n = static_cast<long long>(static_cast<double>(base) * scale);
        return n < min ? min : n;
    }
};

inline options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            o.scale = 0.1;
        } else if (std::strncmp(argv[i], "--scale=", 8) == 0) {
            o.scale = std::atof(argv[i] + 8);
        } else if (std::strncmp(argv[i], "--threads=", 10) == 0) {
            o.threads = std::atoi(argv[i] + 10);
        } else {
            std::fprintf(stderr, "usage: %s [--quick | --scale=X] [--threads=N]\n", argv[0]);
            std::exit(2);
        }
    }
    if (o.threads < 1) o.threads = 1;
    if (o.scale <= 0) o.scale = 1.0;
    return o;
}

[[noreturn]] inline void fail(const char* workload, const char* fmt, ...) {
    std::fprintf(stderr, "FAIL %s: ", workload);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "\n");
    std::fflush(stderr);
    std::_Exit(1);
}

inline void result(const char* key, long long value) {
    std::printf("RESULT %s=%lld\n", key, value);
    std::fflush(stdout);
}

inline std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
}

inline std::uint64_t stamp_of(const void* p, std::size_t n) {
    return mix(reinterpret_cast<std::uintptr_t>(p) ^ (n * 0x9E3779B97F4A7C15ull));
}

// Marks a block of n bytes (n >= 1).
inline void stamp(void* p, std::size_t n) {
    auto* b = static_cast<unsigned char*>(p);
    const std::uint64_t h = stamp_of(p, n);
    if (n >= 16) {
        const std::uint64_t size = n;
        std::memcpy(b, &size, 8);
        std::memcpy(b + n - 8, &h, 8);
    } else {
        b[0] = static_cast<unsigned char>(h);
        b[n - 1] = static_cast<unsigned char>(h >> 8 ^ h);
    }
}

// True when the block still carries the stamp for size n.
inline bool stamped(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    const std::uint64_t h = stamp_of(p, n);
    if (n >= 16) {
        std::uint64_t size, tail;
        std::memcpy(&size, b, 8);
        std::memcpy(&tail, b + n - 8, 8);
        return size == n && tail == h;
    }
    if (n == 1) return b[0] == static_cast<unsigned char>(h >> 8 ^ h);
    return b[0] == static_cast<unsigned char>(h) && b[n - 1] == static_cast<unsigned char>(h >> 8 ^ h);
}

// The size a >= 16-byte stamped block records (for blocks whose size the caller did not keep).
inline std::size_t stamped_size(const void* p) {
    std::uint64_t size;
    std::memcpy(&size, p, 8);
    return size;
}

inline void* checked_malloc(const char* workload, std::size_t n) {
    void* p = std::malloc(n);
    if (p == nullptr) fail(workload, "malloc(%zu) returned NULL", n);
    if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0 && n >= 16)
        fail(workload, "malloc(%zu) returned %p, not 16-aligned", n, p);
    return p;
}

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"), or -1.
// The false-sharing workloads' inner loop: writes `self` into each of the
// `object` bytes at p, increments them `writes` times in turn, and fails the
// workload if any increment was lost.
inline void write_and_check(const char* workload, volatile unsigned char* p, std::size_t object, long long writes,
                            int self) {
    for (std::size_t k = 0; k < object; ++k) p[k] = static_cast<unsigned char>(self);
    for (long long w = 0; w < writes; ++w) p[w % object] = static_cast<unsigned char>(p[w % object] + 1);
    // Each byte was incremented writes/object times (plus one for the first writes % object bytes).
    for (std::size_t k = 0; k < object; ++k) {
        const long long times = writes / static_cast<long long>(object) +
                                (static_cast<long long>(k) < writes % static_cast<long long>(object));
        if (p[k] != static_cast<unsigned char>(self + times))
            fail(workload, "object %p byte %zu lost a write", (void*)p, k);
    }
}

// The false-sharing workloads' thread: `iterations` times, mallocs an object
// of `object` bytes, runs write_and_check on it and frees it.
inline void churn_objects(const char* workload, std::size_t object, long long iterations, long long writes, int self) {
    for (long long i = 0; i < iterations; ++i) {
        auto* p = static_cast<volatile unsigned char*>(checked_malloc(workload, object));
        write_and_check(workload, p, object, writes, self);
        std::free(const_cast<unsigned char*>(p));
    }
}

inline long long status_kb(const char* field) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return -1;
    char line[256];
    long long kb = -1;
    const std::size_t len = std::strlen(field);
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
            kb = std::atoll(line + len + 1);
            break;
        }
    }
    std::fclose(f);
    return kb;
}

}  // namespace heapkit::workload
