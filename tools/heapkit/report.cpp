// `heapkit report TRACE...`: analyses traces written by `heapkit profile`
// and prints what they say (report_model.hpp builds the data; this file
// formats the terminal report and writes the exports).
//
// Given a trace path, the traces of its forked children are read too
// (PATH.<pid> beside it, and those its fork records name), and theirs, so a
// process tree is reported whole; --process PID reports one of them. The
// exports (--folded, --pprof, --json, --html) describe one process: the first
// one reported. FILE `-` is standard output, and then the terminal report is
// left out so that the export can be piped.
//
// A damaged or truncated trace is reported up to the damage, then one line
// on standard error names the file, the offset and the reason, and the exit
// status is 2. Bad arguments exit 1.
#include "commands.hpp"
#include "report_data.hpp"
#include "report_export.hpp"
#include "report_model.hpp"
#include "text.hpp"

#if __has_include("html_report.hpp")
#include "html_report.hpp"
#define HEAPKIT_HAVE_HTML_REPORT 1
#endif

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace heapkit::tools {
namespace {

using u64 = std::uint64_t;

struct report_options {
    std::vector<std::string> traces;
    std::size_t top = 10;
    std::size_t frames = 8;
    bool threads = false;
    long long process = -1;  // --process PID
    std::string folded, folded_metric = "bytes", pprof, json, html;
};

constexpr int damaged_status = 2;

std::string one_line_command(const trace::process_info& p);

std::string human_bytes(u64 b) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = static_cast<double>(b);
    std::size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
    else
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

std::string bytes_text(u64 b) {
    std::string s = std::to_string(b) + " bytes";
    if (b >= 1024) s += " (" + human_bytes(b) + ")";
    return s;
}

std::string seconds(u64 ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(ns) / 1e9);
    return buf;
}

std::string percent(u64 part, u64 whole) {
    if (whole == 0) return "0%";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
    return buf;
}

std::string size_range(std::size_t bucket) {
    const u64 lo = trace::histogram_lo(bucket), hi = trace::histogram_hi(bucket);
    return human_bytes(lo) + " .. " + (hi == 0 ? std::string("16 EiB") : human_bytes(hi - 1));
}

// A table indented by two spaces.
void print_table_indented(std::ostream& os, const table_row& header, const std::vector<table_row>& rows) {
    std::ostringstream t;
    print_table(t, header, rows);
    print_indented(os, t.str(), "  ");
}

std::string count_of(u64 n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

void print_stack(std::ostream& os, const call_tree& t, std::uint32_t node, std::size_t max_frames) {
    const std::vector<const trace::frame*> path = t.path(node);
    if (path.empty()) {
        os << "      [no stack recorded]\n";
        return;
    }
    for (std::size_t i = 0; i < path.size() && i < max_frames; ++i) os << "      " << describe_frame(*path[i]) << '\n';
    if (path.size() > max_frames) os << "      ... " << count_of(path.size() - max_frames, "more frame") << '\n';
}

template <class Value, class Describe>
void print_top(std::ostream& os, const char* title, const traced_process& p, const report_options& o, Value value,
               Describe describe) {
    const call_tree& t = p.tree;
    std::vector<std::uint32_t> order;
    for (std::size_t n = 0; n < t.values.size(); ++n)
        if (value(t.values[n]) != 0) order.push_back(static_cast<std::uint32_t>(n));
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        const u64 va = value(t.values[a]), vb = value(t.values[b]);
        return va != vb ? va > vb : a < b;
    });
    os << '\n' << title << '\n';
    if (order.empty()) {
        os << "  none\n";
        return;
    }
    if (order.size() > o.top) order.resize(o.top);
    std::size_t rank = 0;
    for (std::uint32_t n : order) {
        os << "  " << ++rank << ". " << describe(t.values[n]) << '\n';
        print_stack(os, t, n, o.frames);
    }
}

void print_process(std::ostream& os, const traced_process& p, const report_options& o) {
    const trace::analysis& a = p.analysis;
    os << "process " << a.process.pid << ": " << one_line_command(a.process) << '\n';
    std::vector<table_row> info;
    info.push_back({"trace", p.path});
    if (a.process.ppid != 0) info.push_back({"parent", std::to_string(a.process.ppid)});
    if (!a.process.exe.empty()) info.push_back({"executable", a.process.exe});
    info.push_back({"duration", seconds(a.duration_ns)});
    info.push_back({"exit", describe_end(a)});
    info.push_back(
        {"events", std::to_string(a.events) + (a.lost_events ? " (" + std::to_string(a.lost_events) + " lost)" : "")});
    if (a.process.sample_rate > 1) info.push_back({"sampled", "1 in " + std::to_string(a.process.sample_rate)});
    if (!a.exec_path.empty()) info.push_back({"exec", a.exec_path});
    for (const table_row& r : info)
        os << "  " << r[0] << std::string(12 - std::min<std::size_t>(11, r[0].size()), ' ') << r[1] << '\n';
    if (!p.opened) return;

    os << "\ncalls\n";
    std::vector<table_row> calls;
    for (std::size_t i = 0; i < a.calls.size(); ++i)
        if (a.calls[i] != 0)
            calls.push_back({std::string(trace::op_name(static_cast<trace::op>(i))), std::to_string(a.calls[i])});
    if (calls.empty())
        os << "  none\n";
    else
        print_table_indented(os, {"function", "calls"}, calls);

    os << "\nheap\n";
    std::vector<table_row> heap;
    heap.push_back({"  allocations",
                    std::to_string(a.allocations) + (a.failed ? " (" + std::to_string(a.failed) + " failed)" : "")});
    heap.push_back({"  frees", std::to_string(a.frees)});
    heap.push_back({"  allocated", bytes_text(a.allocated_bytes)});
    heap.push_back({"  peak heap", bytes_text(a.peak_heap_bytes) + " at " + seconds(a.peak_time_ns)});
    if (a.peak_rss_bytes != 0)
        heap.push_back({"  peak RSS", bytes_text(a.peak_rss_bytes) + " at " + seconds(a.peak_rss_time_ns)});
    heap.push_back({"  leaked at exit", bytes_text(a.live_bytes) + " in " + count_of(a.live_blocks, "block")});
    heap.push_back(
        {"  temporary", std::to_string(a.temporary) + " allocations (" + percent(a.temporary, a.allocations) + ")"});
    if (a.main_seen)
        heap.push_back(
            {"  before main", bytes_text(a.before_main_bytes) + " in " + count_of(a.before_main_calls, "call")});
    if (a.calls[static_cast<std::size_t>(trace::op::realloc)] +
            a.calls[static_cast<std::size_t>(trace::op::reallocarray)] !=
        0)
        heap.push_back({"  realloc", std::to_string(a.realloc_moved) + " moved, " + std::to_string(a.realloc_in_place) +
                                         " in place, " + std::to_string(a.realloc_null) + " of NULL, " +
                                         std::to_string(a.realloc_freed) + " freed, " +
                                         std::to_string(a.realloc_failed) + " failed"});
    if (a.unknown_frees != 0)
        heap.push_back(
            {"  unknown frees", std::to_string(a.unknown_frees) + " (blocks the trace never saw allocated)"});
    if (a.mmap_calls + a.munmap_calls + a.mremap_calls != 0)
        heap.push_back({"  mmap", std::to_string(a.mmap_calls) + " calls, " + bytes_text(a.mmap_bytes) + "; munmap " +
                                      std::to_string(a.munmap_calls) + " calls, " + bytes_text(a.munmap_bytes) +
                                      "; mremap " + std::to_string(a.mremap_calls)});
    for (const table_row& r : heap)
        os << r[0] << std::string(18 - std::min<std::size_t>(17, r[0].size()), ' ') << r[1] << '\n';

    os << "\nsizes\n";
    std::vector<table_row> sizes;
    for (std::size_t b = 0; b < trace::histogram_buckets; ++b)
        if (a.histogram_count[b] != 0)
            sizes.push_back({size_range(b), std::to_string(a.histogram_count[b]), human_bytes(a.histogram_bytes[b])});
    if (sizes.empty())
        os << "  none\n";
    else
        print_table_indented(os, {"size", "allocations", "bytes"}, sizes);

    if (o.threads) {
        os << "\nthreads\n";
        std::vector<table_row> rows;
        for (const trace::thread_stats& t : a.threads)
            if (t.calls != 0)
                rows.push_back({std::to_string(t.slot), std::to_string(t.tid), t.name, std::to_string(t.calls),
                                std::to_string(t.allocations), std::to_string(t.allocated_bytes),
                                std::to_string(t.frees), std::to_string(t.temporary)});
        print_table_indented(os, {"slot", "tid", "name", "calls", "allocations", "bytes", "frees", "temporary"}, rows);
    }

    print_top(
        os, "top sites by bytes allocated", p, o, [](const node_values& v) { return v.allocated; },
        [](const node_values& v) { return bytes_text(v.allocated) + " in " + count_of(v.calls, "call"); });
    print_top(
        os, "top sites by calls", p, o, [](const node_values& v) { return v.calls; },
        [](const node_values& v) { return count_of(v.calls, "call") + ", " + bytes_text(v.allocated); });
    const u64 peak = a.peak_heap_bytes;
    print_top(
        os, "top sites by share of the peak heap", p, o, [](const node_values& v) { return v.peak; },
        [peak](const node_values& v) { return percent(v.peak, peak) + " of the peak: " + bytes_text(v.peak); });
    print_top(
        os, "top sites by temporary allocations", p, o, [](const node_values& v) { return v.temporary; },
        [](const node_values& v) {
            return std::to_string(v.temporary) + " temporary of " + std::to_string(v.allocations) + " allocations";
        });
    print_top(
        os, "leaks at exit", p, o, [](const node_values& v) { return v.leaked; },
        [](const node_values& v) { return bytes_text(v.leaked) + " in " + count_of(v.leaked_blocks, "block"); });
}

// The command line on one line, at most 160 characters (newlines as \n).
std::string one_line_command(const trace::process_info& p) {
    std::string s;
    for (char c : command_line(p)) {
        if (c == '\n')
            s += "\\n";
        else if (c == '\t' || c == '\r')
            s += ' ';
        else
            s += c;
    }
    if (s.size() > 160) s = s.substr(0, 157) + "...";
    return s;
}

std::string canonical(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path c = std::filesystem::weakly_canonical(path, ec);
    return ec ? path : c.string();
}

// The processes as a tree: forked children indented under the image that
// forked them; an image that a process exec'ed right after the one before it.
void print_process_tree(std::ostream& os, const std::vector<const traced_process*>& ps) {
    os << "processes\n";
    const std::size_t n = ps.size();
    std::map<std::string, std::size_t> by_trace;
    for (std::size_t i = 0; i < n; ++i) by_trace.emplace(canonical(ps[i]->path), i);
    auto find = [&](const std::string& trace) -> std::optional<std::size_t> {
        if (trace.empty()) return std::nullopt;
        auto it = by_trace.find(canonical(trace));
        return it == by_trace.end() ? std::nullopt : std::optional<std::size_t>(it->second);
    };
    // each process' link: (the image before its exec) or (the process that forked it)
    std::vector<std::optional<std::size_t>> exec_of(n), child_of(n);
    for (std::size_t i = 0; i < n; ++i) {
        const trace::process_info& p = ps[i]->analysis.process;
        if (auto prev = find(p.previous_trace); prev && *prev != i) {
            exec_of[i] = prev;
        } else if (auto parent = find(p.parent_trace); parent && *parent != i) {
            child_of[i] = parent;
        } else {
            for (std::size_t j = 0; j < n; ++j)
                if (j != i && p.ppid != 0 && ps[j]->analysis.process.pid == p.ppid) {
                    child_of[i] = j;
                    break;
                }
        }
    }
    std::vector<bool> done(n, false);
    auto print = [&](auto&& self, std::size_t i, std::size_t depth, bool exec) -> void {
        done[i] = true;
        const trace::analysis& a = ps[i]->analysis;
        os << std::string(2 + 2 * depth, ' ') << (exec ? "exec " : "") << a.process.pid << "  "
           << one_line_command(a.process) << "  (" << describe_end(a) << ")\n";
        for (std::size_t j = 0; j < n; ++j)
            if (!done[j] && child_of[j] == i) self(self, j, depth + 1, false);
        for (std::size_t j = 0; j < n; ++j)
            if (!done[j] && exec_of[j] == i) self(self, j, depth, true);
    };
    for (std::size_t i = 0; i < n; ++i)
        if (!done[i] && !exec_of[i] && !child_of[i]) print(print, i, 0, false);
    for (std::size_t i = 0; i < n; ++i)  // cycles or links to traces not read
        if (!done[i]) print(print, i, 0, false);
    os << '\n';
}

// Writes `data` to FILE, or standard output for "-". false: printed why.
bool write_output(const std::string& file, const std::string& what, auto&& write) {
    if (file == "-") {
        write(std::cout);
        std::cout.flush();
        return true;
    }
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    if (!f) {
        std::cerr << "heapkit report: cannot write the " << what << " to '" << file
                  << "'; check the directory exists and is writable\n";
        return false;
    }
    write(f);
    f.close();
    if (!f) {
        std::cerr << "heapkit report: writing the " << what << " to '" << file << "' failed (disk full?)\n";
        return false;
    }
    return true;
}

int report(const report_options& o) {
    const std::optional<folded_metric> metric = parse_folded_metric(o.folded_metric);
    if (!metric) {
        std::cerr << "heapkit report: --folded-metric " << o.folded_metric
                  << ": expected bytes, calls, peak or leaked\n";
        return 1;
    }
#ifndef HEAPKIT_HAVE_HTML_REPORT
    if (!o.html.empty()) {
        std::cerr << "heapkit report: --html is not available in this build (no HTML page); use --json\n";
        return 1;
    }
#endif
    // every trace, then its children's, breadth first
    std::vector<std::unique_ptr<traced_process>> loaded;
    const auto symbols = std::make_shared<trace::symbol_cache>();
    std::set<std::string> seen;
    std::vector<std::string> queue(o.traces.begin(), o.traces.end());
    for (std::size_t i = 0; i < queue.size(); ++i) {
        if (!seen.insert(canonical(queue[i])).second) continue;  // a fork record and a directory scan name it
        loaded.push_back(load_trace(queue[i], symbols));
        if (loaded.back()->opened)
            for (std::string& c : child_traces(queue[i], loaded.back()->analysis)) queue.push_back(std::move(c));
    }

    // traces that could not be opened at all are only named in their error line
    std::vector<const traced_process*> all, shown;
    int status = 0;
    for (const auto& p : loaded) {
        if (!p->opened) {
            std::cerr << "heapkit report: " << p->analysis.error->describe() << "; nothing could be read\n";
            status = damaged_status;
            continue;
        }
        all.push_back(p.get());
        if (o.process < 0 || static_cast<long long>(p->analysis.process.pid) == o.process) shown.push_back(p.get());
    }
    if (all.empty()) return status;
    if (shown.empty()) {
        std::cerr << "heapkit report: no trace of process " << o.process << " among the " << all.size()
                  << " read; leave out --process to report them all\n";
        return 1;
    }

    const bool stdout_export = o.folded == "-" || o.pprof == "-" || o.json == "-" || o.html == "-";
    if (!stdout_export) {
        std::ostringstream os;
        if (all.size() > 1 && o.process < 0) print_process_tree(os, all);
        for (std::size_t i = 0; i < shown.size(); ++i) {
            if (i != 0) os << "\n\n";
            print_process(os, *shown[i], o);
        }
        std::cout << os.str();
        std::cout.flush();
    }

    traced_process& main = *const_cast<traced_process*>(shown.front());
    if (!o.folded.empty() &&
        !write_output(o.folded, "folded stacks", [&](std::ostream& f) { write_folded(f, main, *metric); }))
        status = 1;
    if (!o.pprof.empty()) {
        const std::vector<std::uint8_t> gz = pprof_profile(main);
        if (!write_output(o.pprof, "pprof profile", [&](std::ostream& f) {
                f.write(reinterpret_cast<const char*>(gz.data()), static_cast<std::streamsize>(gz.size()));
            }))
            status = 1;
    }
    std::string data;
    if (!o.json.empty() || !o.html.empty()) data = report_data_json(main, all, {std::max<std::size_t>(o.top, 20)});
    if (!o.json.empty() && !write_output(o.json, "JSON report", [&](std::ostream& f) { f << data; })) status = 1;
#ifdef HEAPKIT_HAVE_HTML_REPORT
    if (!o.html.empty() && !write_output(o.html, "HTML report", [&](std::ostream& f) { write_html_report(f, data); }))
        status = 1;
#endif

    for (const traced_process* p : all) {
        if (!p->analysis.error) continue;
        std::cerr << "heapkit report: " << p->analysis.error->describe()
                  << "; the report covers the events before it\n";
        status = damaged_status;
    }
    return status;
}

}  // namespace

void add_report_command(CLI::App& app, int& status) {
    auto opts = std::make_shared<report_options>();
    CLI::App* cmd =
        app.add_subcommand("report", "Report a trace written by `heapkit profile`: totals, peak, sites, leaks");
    cmd->footer(
        "Example: heapkit report prog.hkt --top 5 --folded prog.folded --pprof prog.pb.gz\n"
        "The traces of forked children (TRACE.<pid>) are read too. Exit status 2: a trace was damaged\n"
        "(the report covers what came before the damage). See docs/profile.md.");
    cmd->add_option("traces", opts->traces, "trace files")->required();
    cmd->add_option("--top", opts->top, "sites per list (default 10)")->check(CLI::PositiveNumber);
    cmd->add_option("--frames", opts->frames, "frames per site's stack (default 8)")->check(CLI::PositiveNumber);
    cmd->add_flag("--threads", opts->threads, "per-thread totals");
    cmd->add_option("--process", opts->process, "report only the process with this pid");
    cmd->add_option("--folded", opts->folded, "write folded stacks (flame graph input) to FILE, - for stdout");
    cmd->add_option("--folded-metric", opts->folded_metric, "bytes (default), calls, peak or leaked");
    cmd->add_option("--pprof", opts->pprof, "write a gzip'ed pprof profile to FILE");
    cmd->add_option("--json", opts->json, "write the report's data document (JSON) to FILE, - for stdout");
    cmd->add_option("--html", opts->html, "write a self-contained HTML report to FILE");
    cmd->callback([opts, &status] { status = report(*opts); });
}

}  // namespace heapkit::tools
