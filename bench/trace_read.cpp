// trace_read: how fast trace::reader decodes, and how big a trace is per
// event. Writes a synthetic trace with trace::writer (a realistic mix: four
// threads, mostly small mallocs and frees of a few thousand live blocks,
// some aligned and sized operations, reallocs, a few mappings, an rss sample
// and a watermark per writer round of 10 ms), then reads it back from the
// file several times and prints the median.
//
//   trace_read [events=10000000] [path=/tmp/heapkit-trace-read.hkt] [zstd level=1]
#include "trace/reader.hpp"
#include "trace/writer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

using namespace heapkit::trace;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this process: on a shared machine, less noisy than the wall clock.
double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

struct live_block {
    std::uint64_t addr, size;
    op o;
};

// Writes `events` events; returns false on a write error.
bool write_trace(const std::string& path, std::uint64_t events, int level, writer& w) {
    if (!w.open(path, {.compression = codec::zstd, .zstd_level = level})) {
        std::fprintf(stderr, "%s\n", w.error().c_str());
        return false;
    }
    process_info p;
    p.pid = 1234;
    p.exe = "/usr/bin/synthetic";
    p.argv = {"synthetic", "--events", std::to_string(events)};
    p.page_size = 4096;
    p.recorder = "trace_read bench";
    w.process(p);
    std::mt19937_64 rng(42);
    constexpr std::uint64_t stacks = 3000;  // distinct call stacks (leaves); a tree of them
    for (std::uint64_t id = 1; id <= stacks; ++id)
        w.stack_node(id, id <= 40 ? 0 : 1 + rng() % (id - 1), 0x555555554000 + (rng() % 0x200000));
    std::vector<live_block> live[5];
    std::uint64_t next_addr[5] = {0, 0x7f1000000000, 0x7f2000000000, 0x7f3000000000, 0x7f4000000000};
    const std::uint64_t per_round = 20000;  // events in one 10 ms writer round
    std::uint64_t time = 0;
    for (std::uint64_t seq = 0; seq < events;) {
        for (std::uint64_t i = 0; i < per_round && seq < events; ++i, ++seq) {
            const auto t = static_cast<std::uint32_t>(1 + rng() % 4);
            if (seq % 8 == 0) time += 4'000'000;  // the coarse clock's 4 ms steps, a few per round
            auto& l = live[t];
            const std::uint64_t stack = 1 + (rng() % stacks);
            const unsigned pick = static_cast<unsigned>(rng() % 100);
            open_chunk& c = w.chunk(t);
            if (pick < 3 && !l.empty()) {  // realloc
                auto& b = l[rng() % l.size()];
                const std::uint64_t size = b.size * 2;
                const std::uint64_t moved = next_addr[t];
                next_addr[t] += (size + 15) & ~15ull;
                c.append(realloc_record_max, [&](std::uint8_t* q, encoder& e) {
                    return e.realloc(q, op::realloc, seq, time, b.addr, moved, size, stack);
                });
                b.addr = moved;
                b.size = size;
            } else if (pick < 4) {  // a mapping
                c.append(mapping_record_max, [&](std::uint8_t* q, encoder& e) {
                    return e.mmap(q, seq, time, 0x7e0000000000 + (rng() % 1000) * 0x200000, 0x200000, 3, 0x22, -1,
                                  stack);
                });
            } else if (pick < 52 || l.size() < 64) {  // alloc: mostly small
                const unsigned r = static_cast<unsigned>(rng() % 100);
                const std::uint64_t size = r < 70 ? 8 + rng() % 120 : r < 95 ? 128 + rng() % 2000 : 4096 + rng() % 60000;
                const op o = r % 10 < 5 ? op::malloc : r % 10 < 9 ? op::new_ : op::aligned_alloc;
                const std::uint64_t addr = next_addr[t];
                next_addr[t] += (size + 15) & ~15ull;
                c.append(alloc_record_max, [&](std::uint8_t* q, encoder& e) {
                    return e.alloc(q, o, seq, time, addr, size, o == op::aligned_alloc ? 64 : 0, stack);
                });
                l.push_back({addr, size, o});
            } else {  // free a random live block of this thread
                const std::size_t k = rng() % l.size();
                const live_block b = l[k];
                l[k] = l.back();
                l.pop_back();
                const op o = b.o == op::new_ ? op::delete_sized : b.o == op::aligned_alloc ? op::free : op::free;
                c.append(free_record_max, [&](std::uint8_t* q, encoder& e) {
                    return e.free(q, o, seq, time, b.addr, b.size, 0, stack);
                });
            }
        }
        w.chunk(0).append(small_record_max, [&](std::uint8_t* q, encoder& e) {
            return e.rss(q, seq, time, 100 << 20, 2ull << 30);
        });
        ++seq;
        if (!w.round(seq)) {
            std::fprintf(stderr, "%s\n", w.error().c_str());
            return false;
        }
    }
    return w.close();
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
    const std::string path = argc > 2 ? argv[2] : "/tmp/heapkit-trace-read.hkt";
    const int level = argc > 3 ? std::atoi(argv[3]) : 1;

    writer w;
    auto t0 = std::chrono::steady_clock::now();
    if (!write_trace(path, events, level, w)) return 1;
    const double write_s = seconds_since(t0);
    std::printf("wrote %s: %llu events in %llu chunks, %.1f s\n", path.c_str(),
                static_cast<unsigned long long>(events), static_cast<unsigned long long>(w.chunks()), write_s);
    std::printf("raw records  %12llu bytes  %.2f bytes/event\n", static_cast<unsigned long long>(w.raw_bytes()),
                static_cast<double>(w.raw_bytes()) / static_cast<double>(events));
    std::printf("file (zstd %d) %10llu bytes  %.2f bytes/event\n", level,
                static_cast<unsigned long long>(w.file_bytes()),
                static_cast<double>(w.file_bytes()) / static_cast<double>(events));

    std::vector<double> rates, cpu_rates;
    for (int run = 0; run < 5; ++run) {
        reader r;
        t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_seconds();
        if (!r.open(path)) {
            std::fprintf(stderr, "%s\n", r.error()->describe().c_str());
            return 1;
        }
        event e;
        std::uint64_t n = 0, check = 0;
        while (r.next(e)) {
            ++n;
            check += e.addr;
        }
        const double s = seconds_since(t0);
        const double cpu = cpu_seconds() - c0;
        if (r.error()) {
            std::fprintf(stderr, "%s\n", r.error()->describe().c_str());
            return 1;
        }
        rates.push_back(static_cast<double>(n) / s);
        cpu_rates.push_back(static_cast<double>(n) / cpu);
        std::printf("read %llu events in %.3f s (%.3f s CPU): %.1f M events/s, %.1f M per CPU second "
                    "(peak held %zu, checksum %llx)\n",
                    static_cast<unsigned long long>(n), s, cpu, static_cast<double>(n) / s / 1e6,
                    static_cast<double>(n) / cpu / 1e6, r.peak_held_events(), static_cast<unsigned long long>(check));
    }
    std::sort(rates.begin(), rates.end());
    std::sort(cpu_rates.begin(), cpu_rates.end());
    std::printf("median: %.1f M events/s wall, %.1f M events per CPU second\n", rates[rates.size() / 2] / 1e6,
                cpu_rates[cpu_rates.size() / 2] / 1e6);
    return 0;
}
