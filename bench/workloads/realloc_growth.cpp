// realloc-growth: buffers grown by realloc a little at a time, as strings,
// vectors without a growth factor and readers appending to a buffer do.
// Keeps `live` buffers; each step appends 8..256 bytes of known content to a
// random one (realloc to the exact new length); a buffer that reaches its
// target length (mostly small, now and then up to 1 MiB) is checked byte by
// byte and freed, and a new one starts.
#include "workload.hpp"

namespace {

using namespace heapkit::workload;
constexpr const char* name = "realloc-growth";
constexpr std::size_t live = 64;

unsigned char content(std::uint64_t id, std::size_t i) {
    return static_cast<unsigned char>((id * 131 + i * 7) ^ (i >> 8));
}

struct buffer {
    unsigned char* data = nullptr;
    std::size_t length = 0;
    std::size_t target = 0;
    std::uint64_t id = 0;
};

std::size_t pick_target(rng& r) {
    const std::size_t k = r.below(100);
    if (k < 70) return r.range(64, 4096);
    if (k < 95) return r.range(4096, 64 * 1024);
    return r.range(64 * 1024, 1024 * 1024);
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long steps = o.count(500'000, 10000);
    buffer bufs[live];
    rng r(99);
    std::uint64_t next_id = 1;
    for (auto& b : bufs) b.target = pick_target(r), b.id = next_id++;
    long long finished = 0;
    for (long long s = 0; s < steps; ++s) {
        buffer& b = bufs[r.below(live)];
        const std::size_t add = r.range(8, 256);
        auto* p = static_cast<unsigned char*>(std::realloc(b.data, b.length + add));
        if (p == nullptr) fail(name, "realloc(%p, %zu) returned NULL", (void*)b.data, b.length + add);
        for (std::size_t i = b.length; i < b.length + add; ++i) p[i] = content(b.id, i);
        b.data = p;
        b.length += add;
        if (b.length >= b.target) {
            for (std::size_t i = 0; i < b.length; ++i)
                if (b.data[i] != content(b.id, i))
                    fail(name, "buffer %llu byte %zu changed", (unsigned long long)b.id, i);
            std::free(b.data);
            b = buffer{};
            b.target = pick_target(r);
            b.id = next_id++;
            ++finished;
        }
    }
    for (auto& b : bufs) {
        for (std::size_t i = 0; i < b.length; ++i)
            if (b.data[i] != content(b.id, i)) fail(name, "buffer %llu byte %zu changed", (unsigned long long)b.id, i);
        std::free(b.data);
    }
    result("buffers", finished);
    return 0;
}
