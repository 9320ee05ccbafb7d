// espresso: logic-minimisation-like churn of small objects, after the
// espresso PLA optimiser as the mimalloc-bench suite describes it (many small
// objects of various sizes, mostly short-lived). Cubes are bit vectors of
// 2 bits per variable (malloc'ed, 1..8 words); a cover is an array of cube
// pointers grown with realloc. Each round builds a random cover, computes
// every pairwise intersection into a new cover (dropping empty ones and ones
// contained in a recent result), checks every kept cube against its operands
// (recorded in the cube), and frees everything.
#include "workload.hpp"

namespace {

using namespace heapkit::workload;
constexpr const char* name = "espresso";

struct cover {
    std::uint64_t** cubes = nullptr;  // count entries, capacity allocated
    std::size_t count = 0;
    std::size_t capacity = 0;
};

void add(cover& c, std::uint64_t* cube) {
    if (c.count == c.capacity) {
        c.capacity = c.capacity ? c.capacity + c.capacity / 2 : 4;
        auto* p = static_cast<std::uint64_t**>(std::realloc(c.cubes, c.capacity * sizeof(std::uint64_t*)));
        if (p == nullptr) fail(name, "realloc failed");
        c.cubes = p;
    }
    c.cubes[c.count++] = cube;
}

void release(cover& c) {
    for (std::size_t i = 0; i < c.count; ++i) std::free(c.cubes[i]);
    std::free(c.cubes);
    c = cover{};
}

// A cube is empty when some variable has neither literal (both bits 0).
bool empty(const std::uint64_t* c, std::size_t words) {
    for (std::size_t w = 0; w < words; ++w) {
        const std::uint64_t x = c[w];
        if (((x | (x >> 1)) & 0x5555555555555555ull) != 0x5555555555555555ull) return true;
    }
    return false;
}

bool contains(const std::uint64_t* big, const std::uint64_t* small, std::size_t words) {
    for (std::size_t w = 0; w < words; ++w)
        if ((small[w] & ~big[w]) != 0) return false;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const long long rounds = o.count(12000, 20);
    rng r(11);
    long long kept_total = 0;
    for (long long round = 0; round < rounds; ++round) {
        const std::size_t words = 1 + r.below(8);  // 32..256 variables
        const std::size_t n = 24 + r.below(40);
        cover in;
        for (std::size_t i = 0; i < n; ++i) {
            auto* c = static_cast<std::uint64_t*>(checked_malloc(name, words * 8));
            for (std::size_t w = 0; w < words; ++w) {
                // Mostly don't-cares (11), some literals (01 or 10).
                std::uint64_t x = ~0ull;
                for (int v = 0; v < 32; ++v)
                    if (r.below(16) == 0) x &= ~(1ull << (2 * v + r.below(2)));
                c[w] = x;
            }
            add(in, c);
        }
        cover out;
        for (std::size_t i = 0; i < in.count; ++i) {
            for (std::size_t j = i + 1; j < in.count; ++j) {
                // The result carries the indices of its operands in one extra word.
                auto* c = static_cast<std::uint64_t*>(checked_malloc(name, (words + 1) * 8));
                for (std::size_t w = 0; w < words; ++w) c[w] = in.cubes[i][w] & in.cubes[j][w];
                c[words] = (static_cast<std::uint64_t>(i) << 32) | j;
                bool drop = empty(c, words);
                for (std::size_t k = out.count; !drop && k-- > 0 && k + 8 >= out.count;)
                    drop = contains(out.cubes[k], c, words);
                if (drop) {
                    std::free(c);
                    continue;
                }
                add(out, c);
            }
        }
        for (std::size_t k = 0; k < out.count; ++k) {
            const std::uint64_t* c = out.cubes[k];
            const std::size_t i = c[words] >> 32, j = c[words] & 0xffffffffu;
            if (i >= in.count || j >= in.count) fail(name, "cube %p lost its operands", (const void*)c);
            for (std::size_t w = 0; w < words; ++w)
                if (c[w] != (in.cubes[i][w] & in.cubes[j][w])) fail(name, "cube %p changed", (const void*)c);
        }
        kept_total += static_cast<long long>(out.count);
        release(out);
        release(in);
    }
    result("cubes", kept_total);
    return 0;
}
