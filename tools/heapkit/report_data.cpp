// report_data: writes the data document (report_data.hpp) with a small
// appending JSON writer; numbers are integers, strings are escaped.
#include "report_data.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace heapkit::tools {
namespace {

using u64 = std::uint64_t;

// Appends JSON to a string; the caller writes separators with sep().
class json {
public:
    std::string out;

    json& raw(std::string_view s) {
        out += s;
        return *this;
    }
    json& num(u64 v) {
        out += std::to_string(v);
        return *this;
    }
    json& inum(std::int64_t v) {
        out += std::to_string(v);
        return *this;
    }
    json& str(std::string_view s) {
        out += json_string(s);
        return *this;
    }
    json& key(std::string_view k) {
        out += json_string(k);
        out += ':';
        return *this;
    }
    // "," before every element but the first of a list
    json& sep(bool& first) {
        if (!first) out += ',';
        first = false;
        return *this;
    }
};

// (node, value) pairs with value > 0, in node order.
template <class F>
void node_metric(json& j, const call_tree& t, F&& value) {
    j.raw("[");
    bool first = true;
    for (std::size_t n = 0; n < t.values.size(); ++n) {
        const u64 v = value(t.values[n]);
        if (v == 0) continue;
        j.sep(first).raw("[").num(n).raw(",").num(v).raw("]");
    }
    j.raw("]");
}

template <class F>
void top_list(json& j, const call_tree& t, std::size_t top, F&& value) {
    std::vector<std::uint32_t> order;
    for (std::size_t n = 0; n < t.values.size(); ++n)
        if (value(t.values[n]) != 0) order.push_back(static_cast<std::uint32_t>(n));
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        const u64 va = value(t.values[a]), vb = value(t.values[b]);
        return va != vb ? va > vb : a < b;
    });
    if (order.size() > top) order.resize(top);
    j.raw("[");
    bool first = true;
    for (std::uint32_t n : order) {
        const node_values& v = t.values[n];
        j.sep(first).raw("{").key("node").num(n).raw(",").key("value").num(value(v)).raw(",").key("calls").num(v.calls);
        j.raw(",").key("blocks").num(v.leaked_blocks).raw("}");
    }
    j.raw("]");
}

void process_entry(json& j, const traced_process& p) {
    const trace::analysis& a = p.analysis;
    j.raw("{").key("pid").num(a.process.pid).raw(",").key("ppid").num(a.process.ppid);
    j.raw(",").key("command").str(command_line(a.process)).raw(",").key("trace").str(p.path);
    j.raw(",").key("parent_trace").str(a.process.parent_trace);
    j.raw(",").key("exit").str(describe_end(a)).raw(",").key("children").raw("[");
    bool first = true;
    for (const trace::fork_info& f : a.forks) {
        j.sep(first).raw("{").key("pid").inum(f.child_pid).raw(",").key("trace").str(f.child_trace);
        j.raw(",").key("t").num(f.time_ns).raw("}");
    }
    j.raw("]");
    if (!a.exec_path.empty()) j.raw(",").key("exec").str(a.exec_path);
    j.raw("}");
}

}  // namespace

std::string json_string(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (u < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", u);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

std::string command_line(const trace::process_info& p) {
    std::string s;
    const std::vector<std::string>& args = p.argv;
    if (args.empty()) return p.exe;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (i != 0) s += ' ';
        const std::string& a = args[i];
        const bool plain = !a.empty() && a.find_first_not_of(
                                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-_./=:,+@%") == std::string::npos;
        if (plain) {
            s += a;
        } else {
            s += '\'';
            for (char c : a) {
                if (c == '\'')
                    s += "'\\''";
                else
                    s += c;
            }
            s += '\'';
        }
    }
    return s;
}

std::string report_data_json(const traced_process& p, const std::vector<const traced_process*>& all,
                             const report_data_options& options) {
    const trace::analysis& a = p.analysis;
    const call_tree& t = p.tree;
    json j;
    j.out.reserve(4096 + t.nodes.size() * 16 + t.frames.size() * 64);
    j.raw("{").key("command").str(command_line(a.process));
    j.raw(",").key("pid").num(a.process.pid).raw(",").key("ppid").num(a.process.ppid);
    j.raw(",").key("trace").str(p.path);
    j.raw(",").key("duration_ns").num(a.duration_ns).raw(",").key("exit").str(describe_end(a));
    j.raw(",").key("error");
    if (a.error) {
        j.raw("{").key("offset").num(a.error->offset).raw(",").key("reason").str(a.error->reason);
        j.raw(",").key("message").str(a.error->describe()).raw("}");
    } else {
        j.raw("null");
    }

    // ---- summary ----
    j.raw(",").key("summary").raw("{").key("calls").raw("{");
    bool first = true;
    for (std::size_t o = 0; o < a.calls.size(); ++o) {
        if (a.calls[o] == 0) continue;
        j.sep(first).key(trace::op_name(static_cast<trace::op>(o))).num(a.calls[o]);
    }
    j.raw("}");
    j.raw(",").key("allocations").num(a.allocations).raw(",").key("frees").num(a.frees);
    j.raw(",").key("failed").num(a.failed).raw(",").key("allocated_bytes").num(a.allocated_bytes);
    j.raw(",").key("peak_heap_bytes").num(a.peak_heap_bytes).raw(",").key("peak_time_ns").num(a.peak_time_ns);
    j.raw(",").key("peak_rss_bytes").num(a.peak_rss_bytes).raw(",").key("leaked_bytes").num(a.live_bytes);
    j.raw(",").key("leaked_blocks").num(a.live_blocks).raw(",").key("temporary").num(a.temporary);
    j.raw(",").key("before_main_bytes").num(a.before_main_bytes);
    j.raw(",").key("before_main_calls").num(a.before_main_calls);
    // additions beyond the page's contract
    j.raw(",").key("allocation_calls").num(a.allocation_calls).raw(",").key("peak_seq").num(a.peak_seq);
    j.raw(",").key("unknown_frees").num(a.unknown_frees).raw(",").key("free_null").num(a.free_null);
    j.raw(",").key("realloc_moved").num(a.realloc_moved).raw(",").key("realloc_in_place").num(a.realloc_in_place);
    j.raw(",").key("realloc_freed").num(a.realloc_freed).raw(",").key("realloc_failed").num(a.realloc_failed);
    j.raw(",").key("mmap_calls").num(a.mmap_calls).raw(",").key("mmap_bytes").num(a.mmap_bytes);
    j.raw(",").key("munmap_calls").num(a.munmap_calls).raw(",").key("munmap_bytes").num(a.munmap_bytes);
    j.raw(",").key("mremap_calls").num(a.mremap_calls);
    j.raw(",").key("main_seen").raw(a.main_seen ? "true" : "false");
    j.raw(",").key("complete").raw(a.complete ? "true" : "false");
    j.raw(",").key("events").num(a.events).raw(",").key("lost_events").num(a.lost_events);
    j.raw("}");

    // ---- timeline ----
    j.raw(",").key("timeline").raw("[");
    first = true;
    for (const trace::timeline_point& pt : a.timeline) {
        j.sep(first).raw("[").num(pt.time_ns).raw(",").num(pt.heap_bytes).raw(",");
        if (pt.rss_bytes)
            j.num(*pt.rss_bytes);
        else
            j.raw("null");
        j.raw("]");
    }
    j.raw("]");

    // ---- histogram: the buckets from the first used to the last used ----
    j.raw(",").key("histogram").raw("[");
    std::size_t lo = trace::histogram_buckets, hi = 0;
    for (std::size_t b = 0; b < trace::histogram_buckets; ++b) {
        if (a.histogram_count[b] == 0) continue;
        lo = std::min(lo, b);
        hi = b;
    }
    first = true;
    for (std::size_t b = lo; b <= hi && lo < trace::histogram_buckets; ++b) {
        const u64 h = trace::histogram_hi(b);
        j.sep(first).raw("{").key("lo").num(trace::histogram_lo(b)).raw(",").key("hi").num(h == 0 ? UINT64_MAX : h);
        j.raw(",").key("count").num(a.histogram_count[b]).raw(",").key("bytes").num(a.histogram_bytes[b]).raw("}");
    }
    j.raw("]");

    // ---- the call tree ----
    j.raw(",").key("frames").raw("[");
    first = true;
    for (const trace::frame& f : t.frames) {
        j.sep(first).raw("{").key("name").str(f.function).raw(",").key("file").str(f.file);
        j.raw(",").key("line").num(f.line).raw(",").key("module").str(f.module);
        j.raw(",").key("inlined").raw(f.inlined ? "true" : "false").raw("}");
    }
    j.raw("]");
    j.raw(",").key("nodes").raw("[");
    first = true;
    for (const auto& [parent, frame] : t.nodes) j.sep(first).raw("[").inum(parent).raw(",").inum(frame).raw("]");
    j.raw("]");

    j.raw(",").key("metrics").raw("{").key("allocated");
    node_metric(j, t, [](const node_values& v) { return v.allocated; });
    j.raw(",").key("calls");
    node_metric(j, t, [](const node_values& v) { return v.calls; });
    j.raw(",").key("peak");
    node_metric(j, t, [](const node_values& v) { return v.peak; });
    j.raw(",").key("leaked");
    node_metric(j, t, [](const node_values& v) { return v.leaked; });
    j.raw(",").key("temporary");
    node_metric(j, t, [](const node_values& v) { return v.temporary; });
    j.raw("}");

    // ---- snapshots: live bytes per node ----
    j.raw(",").key("snapshots").raw("[");
    first = true;
    for (const trace::heap_snapshot& s : a.snapshots) {
        std::map<std::uint32_t, u64> live;
        for (const auto& [site, bytes] : s.live) live[t.site_node[site]] += bytes;
        j.sep(first).raw("{").key("t").num(s.time_ns).raw(",").key("seq").num(s.seq).raw(",").key("live").raw("[");
        bool f2 = true;
        for (const auto& [node, bytes] : live) j.sep(f2).raw("[").num(node).raw(",").num(bytes).raw("]");
        j.raw("]}");
    }
    j.raw("]");

    // ---- top lists ----
    const std::size_t n = options.top;
    j.raw(",").key("top").raw("{").key("bytes");
    top_list(j, t, n, [](const node_values& v) { return v.allocated; });
    j.raw(",").key("calls");
    top_list(j, t, n, [](const node_values& v) { return v.calls; });
    j.raw(",").key("peak");
    top_list(j, t, n, [](const node_values& v) { return v.peak; });
    j.raw(",").key("temporary");
    top_list(j, t, n, [](const node_values& v) { return v.temporary; });
    j.raw(",").key("leaks");
    top_list(j, t, n, [](const node_values& v) { return v.leaked; });
    j.raw("}");

    // ---- threads and the other processes of the report ----
    j.raw(",").key("threads").raw("[");
    first = true;
    for (const trace::thread_stats& th : a.threads) {
        if (th.calls == 0) continue;
        j.sep(first).raw("{").key("slot").num(th.slot).raw(",").key("tid").num(th.tid).raw(",").key("name").str(
            th.name);
        j.raw(",").key("calls").num(th.calls).raw(",").key("allocations").num(th.allocations);
        j.raw(",").key("allocated_bytes").num(th.allocated_bytes).raw(",").key("frees").num(th.frees);
        j.raw(",").key("temporary").num(th.temporary).raw("}");
    }
    j.raw("]");
    j.raw(",").key("processes").raw("[");
    first = true;
    for (const traced_process* q : all) {
        j.sep(first);
        process_entry(j, *q);
    }
    j.raw("]}");
    j.out += '\n';
    return std::move(j.out);
}

}  // namespace heapkit::tools
