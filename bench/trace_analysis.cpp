// trace_analysis: measures the report's analysis pass (src/trace/analysis.hpp)
// on a large synthetic trace.
//
//   trace_analysis write OUT.hkt EVENTS   a trace of EVENTS events: 4 threads, 5000 stacks
//                                         of depth 12, a live set that swings between
//                                         ~0 and ~200k blocks, temporaries, reallocs
//   trace_analysis analyze IN.hkt         one analysis pass; prints events/s
//
// Peak memory is measured around it: /usr/bin/time -v trace_analysis analyze IN.hkt
// (and the same for `heapkit report IN.hkt`, which also symbolises and prints).
#include "trace/analysis.hpp"
#include "trace/encode.hpp"
#include "trace/writer.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace heapkit;
using u64 = std::uint64_t;

namespace {

int write_trace(const char* path, u64 events) {
    trace::writer w;
    if (!w.open(path)) {
        std::fprintf(stderr, "trace_analysis: %s\n", w.error().c_str());
        return 1;
    }
    trace::process_info p;
    p.pid = 1000;
    p.exe = "synthetic";
    p.argv = {"synthetic", std::to_string(events)};
    w.process(p);
    constexpr u64 stacks = 5000, depth = 12;
    u64 id = 1;
    std::vector<u64> leaves;
    for (u64 s = 0; s < stacks; ++s) {
        u64 parent = 0;
        for (u64 d = 0; d < depth; ++d) {
            // shared prefixes: the first frames repeat across stacks
            const u64 ip = 0x400000 + (d < 4 ? d * 16 : (s * depth + d) * 16);
            w.stack_node(id, parent, ip);
            parent = id++;
        }
        leaves.push_back(parent);
    }
    std::mt19937_64 rng(42);
    std::vector<std::vector<u64>> live(4);
    u64 addr = 0x10000000, seq = 1, t = 0;
    for (u64 i = 0; i < events; ++i) {
        const auto th = static_cast<std::uint32_t>(1 + i % 4);
        std::vector<u64>& mine = live[th - 1];
        const u64 stack = leaves[rng() % stacks];
        t += 200;
        // the live set swings: mostly allocating in the first half of each million events
        const bool grow_phase = (i / 500'000) % 2 == 0;
        const unsigned r = static_cast<unsigned>(rng() % 100);
        auto& c = w.chunk(th);
        if (mine.empty() || r < (grow_phase ? 60u : 40u)) {
            const u64 size = 8 + (rng() % 1024);
            c.append(trace::alloc_record_max, [&](std::uint8_t* q, trace::encoder& e) {
                return e.alloc(q, trace::op::malloc, seq, t, addr, size, 0, stack);
            });
            mine.push_back(addr);
            addr += 0x1000;
        } else if (r < 45 && !mine.empty()) {
            const u64 old = mine.back();
            mine.back() = addr;
            c.append(trace::realloc_record_max, [&](std::uint8_t* q, trace::encoder& e) {
                return e.realloc(q, trace::op::realloc, seq, t, old, addr, 2048, stack);
            });
            addr += 0x1000;
        } else {
            const std::size_t k = rng() % 3 ? mine.size() - 1 : rng() % mine.size();
            const u64 a = mine[k];
            mine[k] = mine.back();
            mine.pop_back();
            c.append(trace::free_record_max, [&](std::uint8_t* q, trace::encoder& e) {
                return e.free(q, trace::op::free, seq, t, a, 0, 0, stack);
            });
        }
        ++seq;
        if (i % 20000 == 19999) w.round(seq);
    }
    w.chunk(0).append(trace::small_record_max,
                      [&](std::uint8_t* q, trace::encoder& e) { return e.end(q, seq, t, trace::end_how::exit, 0); });
    if (!w.close()) {
        std::fprintf(stderr, "trace_analysis: %s\n", w.error().c_str());
        return 1;
    }
    std::printf("wrote %llu events, %llu bytes\n", static_cast<unsigned long long>(events),
                static_cast<unsigned long long>(w.file_bytes()));
    return 0;
}

int analyze_trace(const char* path) {
    trace::reader r;
    if (!r.open(path)) {
        std::fprintf(stderr, "trace_analysis: %s\n", r.error()->describe().c_str());
        return 1;
    }
    const auto start = std::chrono::steady_clock::now();
    const trace::analysis a = trace::analyze(r);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%llu events in %.3f s: %.2f M events/s; %zu sites, peak %llu bytes, leaked %llu in %llu blocks\n",
                static_cast<unsigned long long>(a.events), s, static_cast<double>(a.events) / s / 1e6, a.sites.size(),
                static_cast<unsigned long long>(a.peak_heap_bytes), static_cast<unsigned long long>(a.live_bytes),
                static_cast<unsigned long long>(a.live_blocks));
    if (a.error) std::printf("error: %s\n", a.error->describe().c_str());
    return a.error ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "write") == 0)
        return write_trace(argv[2], std::strtoull(argv[3], nullptr, 10));
    if (argc == 3 && std::strcmp(argv[1], "analyze") == 0) return analyze_trace(argv[2]);
    std::fprintf(stderr, "usage: trace_analysis write OUT.hkt EVENTS | trace_analysis analyze IN.hkt\n");
    return 1;
}
