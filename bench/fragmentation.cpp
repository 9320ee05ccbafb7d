// Replays the fragmentation workload (fragmentation.hpp) against every
// allocator and glibc malloc, prints a table of internal and external
// fragmentation and bytes held per live byte, and writes an SVG plot of the
// figures over the workload.
//
//   build/release/bin/fragmentation [--svg FILE]
#include "fragmentation.hpp"

#include <heapkit/heapkit.hpp>

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace hb = heapkit::bench;

namespace {

constexpr std::size_t sample_every = 4000;

struct series {
    std::string name;
    std::vector<hb::frag_sample> samples;
    std::size_t failures = 0;
};

// Replays `w` against a heapkit allocator, sampling its stats().
template <class A>
series replay(const std::string& name, A& a, const hb::frag_workload& w) {
    series s{name, {}, 0};
    std::vector<std::pair<void*, heapkit::layout>> slot(w.slots, {nullptr, heapkit::layout::of<char>()});
    for (std::size_t i = 0; i < w.ops.size(); ++i) {
        const hb::frag_op& op = w.ops[i];
        if (op.op == hb::frag_op::alloc) {
            const heapkit::layout l = *heapkit::layout::from(op.size, 8);
            heapkit::memory_block b = a.allocate(l);
            if (!b) ++s.failures;
            slot[op.slot] = {b.ptr, l};
            if (b) std::memset(b.ptr, 1, std::min<std::size_t>(op.size, 64));
        } else if (slot[op.slot].first != nullptr) {
            a.deallocate(slot[op.slot].first, slot[op.slot].second);
            slot[op.slot].first = nullptr;
        }
        if (i % sample_every == 0 || i + 1 == w.ops.size()) {
            const heapkit::allocator_stats st = heapkit::stats(a);
            s.samples.push_back({i, st.live_bytes, st.held_bytes, st.internal_fragmentation(),
                                 st.free_bytes == 0 && st.largest_free == 0 && st.held_bytes == 0
                                     ? -1.0
                                     : st.external_fragmentation()});
        }
    }
    for (auto& [p, l] : slot)
        if (p != nullptr) a.deallocate(p, l);
    return s;
}

// Replays `w` against glibc malloc, reading its figures from mallinfo2.
series replay_glibc(const hb::frag_workload& w) {
    series s{"glibc malloc", {}, 0};
    std::vector<void*> slot(w.slots, nullptr);
    std::vector<std::uint32_t> size(w.slots, 0);
    s.samples.reserve(w.ops.size() / sample_every + 2);
    const struct mallinfo2 base = mallinfo2();
    std::size_t live = 0, usable = 0;
    for (std::size_t i = 0; i < w.ops.size(); ++i) {
        const hb::frag_op& op = w.ops[i];
        if (op.op == hb::frag_op::alloc) {
            void* p = std::malloc(op.size);
            if (p == nullptr) ++s.failures;
            slot[op.slot] = p;
            size[op.slot] = op.size;
            if (p != nullptr) {
                std::memset(p, 1, std::min<std::size_t>(op.size, 64));
                live += op.size;
                usable += malloc_usable_size(p);
            }
        } else if (slot[op.slot] != nullptr) {
            live -= size[op.slot];
            usable -= malloc_usable_size(slot[op.slot]);
            std::free(slot[op.slot]);
            slot[op.slot] = nullptr;
        }
        if (i % sample_every == 0 || i + 1 == w.ops.size()) {
            const struct mallinfo2 m = mallinfo2();
            const std::size_t held = (m.arena + m.hblkhd) - (base.arena + base.hblkhd);
            const double internal = usable == 0 ? 0.0 : static_cast<double>(usable - live) / static_cast<double>(usable);
            s.samples.push_back({i, live, held, internal, -1.0});  // glibc does not report its largest free chunk
        }
    }
    for (void* p : slot) std::free(p);
    return s;
}

template <class A, class... Args>
series run(const std::string& name, const hb::frag_workload& w, Args&&... args) {
    auto a = std::make_unique<A>(std::forward<Args>(args)...);
    return replay(name, *a, w);
}

struct summary {
    double internal_mean = 0, external_mean = 0, external_max = 0, held_per_live_peak = 0, held_per_live_end = 0;
    bool external_known = false;
};

summary summarise(const series& s) {
    summary r;
    std::size_t peak_live = 0, peak_held = 0, n = 0;
    for (const auto& x : s.samples) {
        peak_live = std::max(peak_live, x.live);
        peak_held = std::max(peak_held, x.held);
        r.internal_mean += x.internal;
        if (x.external >= 0) {
            r.external_known = true;
            r.external_mean += x.external;
            r.external_max = std::max(r.external_max, x.external);
        }
        ++n;
    }
    if (n != 0) {
        r.internal_mean /= static_cast<double>(n);
        r.external_mean /= static_cast<double>(n);
    }
    r.held_per_live_peak = peak_live == 0 ? 0 : static_cast<double>(peak_held) / static_cast<double>(peak_live);
    const auto& last = s.samples.back();
    r.held_per_live_end = last.live == 0 ? 0 : static_cast<double>(last.held) / static_cast<double>(last.live);
    return r;
}

std::string xml_escape(const std::string& in) {
    std::string out;
    for (char c : in) {
        if (c == '<') {
            out += "&lt;";
        } else if (c == '>') {
            out += "&gt;";
        } else if (c == '&') {
            out += "&amp;";
        } else {
            out += c;
        }
    }
    return out;
}

// A line chart of one figure of every series, as an SVG fragment at (x0, y0).
std::string chart(const std::vector<series>& all, const char* title, double (*value)(const hb::frag_sample&),
                  double ymax, int x0, int y0) {
    static const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    const int w = 640, h = 300;
    std::ostringstream o;
    o << "<g transform='translate(" << x0 << "," << y0 << ")'>\n";
    o << "<text x='0' y='-10' font-size='14' font-family='sans-serif'>" << title << "</text>\n";
    o << "<rect x='0' y='0' width='" << w << "' height='" << h << "' fill='none' stroke='#999'/>\n";
    for (int t = 0; t <= 4; ++t) {
        const double v = ymax * t / 4;
        const int y = h - static_cast<int>(h * t / 4);
        o << "<text x='-6' y='" << y + 4 << "' font-size='10' text-anchor='end' font-family='sans-serif'>" << v
          << "</text>\n";
    }
    std::size_t max_step = 1;
    for (const auto& s : all) max_step = std::max(max_step, s.samples.back().step);
    int k = 0;
    for (const auto& s : all) {
        std::ostringstream pts;
        bool any = false;
        for (const auto& x : s.samples) {
            const double v = value(x);
            if (v < 0) continue;
            any = true;
            const double px = w * static_cast<double>(x.step) / static_cast<double>(max_step);
            const double py = h - h * std::min(v, ymax) / ymax;
            pts << px << "," << py << " ";
        }
        const char* c = colours[k % 10];
        if (any) o << "<polyline fill='none' stroke='" << c << "' stroke-width='1.5' points='" << pts.str() << "'/>\n";
        o << "<text x='" << w + 10 << "' y='" << 14 + 16 * k << "' font-size='11' font-family='sans-serif' fill='" << c
          << "'>" << xml_escape(s.name) << (any ? "" : " (n/a)") << "</text>\n";
        ++k;
    }
    o << "<text x='" << w / 2 << "' y='" << h + 24
      << "' font-size='11' text-anchor='middle' font-family='sans-serif'>workload step</text>\n";
    o << "</g>\n";
    return o.str();
}

}  // namespace

int main(int argc, char** argv) {
    std::string svg_path = "fragmentation.svg";
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--svg") == 0 && i + 1 < argc) {
            svg_path = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--svg FILE]\nunknown argument: %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    const hb::frag_workload w = hb::make_frag_workload();
    std::printf("fragmentation workload: %zu operations, %u blocks, same sequence for every allocator\n\n",
                w.ops.size(), w.slots);

    std::vector<series> all;
    all.push_back(replay_glibc(w));
#define HEAPKIT_FRAG_ALLOCATORS(X)                                     \
    X("heapkit::bump", heapkit::bump<>)                                \
    X("heapkit::pool_set", heapkit::pool_set<>)                        \
    X("free_list<first_fit>", heapkit::free_list<heapkit::first_fit>)  \
    X("free_list<next_fit>", heapkit::free_list<heapkit::next_fit>)    \
    X("free_list<best_fit>", heapkit::free_list<heapkit::best_fit>)    \
    X("free_list<segregated>", heapkit::free_list<heapkit::segregated_fit>) \
    X("heapkit::buddy", heapkit::buddy<>)                              \
    X("heapkit::tlsf", heapkit::tlsf<>)                                \
    X("heapkit::pages", heapkit::pages)
#define HEAPKIT_FRAG_RUN(name, ...) all.push_back(run<__VA_ARGS__>(name, w));
    HEAPKIT_FRAG_ALLOCATORS(HEAPKIT_FRAG_RUN)

    std::printf("%-30s %10s %10s %10s %12s %12s %8s\n", "allocator", "internal", "external", "ext. max",
                "held/live", "held/live", "failed");
    std::printf("%-30s %10s %10s %10s %12s %12s %8s\n", "", "(mean)", "(mean)", "", "(at peak)", "(at end)", "");
    for (const auto& s : all) {
        const summary r = summarise(s);
        char ext[16], extmax[16];
        if (r.external_known) {
            std::snprintf(ext, sizeof ext, "%.3f", r.external_mean);
            std::snprintf(extmax, sizeof extmax, "%.3f", r.external_max);
        } else {
            std::snprintf(ext, sizeof ext, "n/a");
            std::snprintf(extmax, sizeof extmax, "n/a");
        }
        std::printf("%-30s %10.3f %10s %10s %12.2f %12.2f %8zu\n", s.name.c_str(), r.internal_mean, ext, extmax,
                    r.held_per_live_peak, r.held_per_live_end, s.failures);
    }

    std::ofstream svg(svg_path);
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='960' height='780' viewBox='-60 -40 960 780'>\n";
    svg << "<rect x='-60' y='-40' width='960' height='780' fill='white'/>\n";
    svg << chart(all, "external fragmentation (1 - largest free / free)",
                 [](const hb::frag_sample& x) { return x.external; }, 1.0, 0, 0);
    svg << chart(all, "bytes held per live byte",
                 [](const hb::frag_sample& x) { return x.live == 0 ? -1.0 : static_cast<double>(x.held) / static_cast<double>(x.live); },
                 4.0, 0, 390);
    svg << "</svg>\n";
    std::printf("\nplot written to %s\n", svg_path.c_str());
    return 0;
}
