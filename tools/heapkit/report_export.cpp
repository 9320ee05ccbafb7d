// report_export: folded stacks and the pprof profile (report_export.hpp).
//
// profile.proto fields used (github.com/google/pprof/proto/profile.proto):
//   Profile: 1 sample_type, 2 sample, 3 mapping, 4 location, 5 function,
//            6 string_table, 9 time_nanos, 10 duration_nanos, 11 period_type,
//            12 period, 14 default_sample_type
//   ValueType: 1 type, 2 unit (string table indices)
//   Sample: 1 location_id (packed, leaf first), 2 value (packed)
//   Mapping: 1 id, 2 memory_start, 3 memory_limit, 4 file_offset, 5 filename,
//            6 build_id, 7-10 has_functions/filenames/line_numbers/inline_frames
//   Location: 1 id, 2 mapping_id, 3 address, 4 line
//   Line: 1 function_id, 2 line
//   Function: 1 id, 2 name, 3 system_name, 4 filename
#include "report_export.hpp"

#include <zlib.h>

#include <map>
#include <unordered_map>

namespace heapkit::tools {
namespace {

using u64 = std::uint64_t;

u64 metric_of(const node_values& v, folded_metric m) {
    switch (m) {
        case folded_metric::bytes:
            return v.allocated;
        case folded_metric::calls:
            return v.calls;
        case folded_metric::peak:
            return v.peak;
        case folded_metric::leaked:
            return v.leaked;
    }
    return 0;
}

// A folded frame name: no ';' (the separator) and no newline.
std::string folded_name(const std::string& s) {
    std::string r = s;
    for (char& c : r)
        if (c == ';' || c == '\n' || c == '\r') c = ',';
    return r;
}

// ---- protobuf encoding ----
class proto {
public:
    std::string buf;

    void varint(u64 v) {
        while (v >= 0x80) {
            buf += static_cast<char>(v | 0x80);
            v >>= 7;
        }
        buf += static_cast<char>(v);
    }
    void tag(unsigned field, unsigned wire) { varint((u64{field} << 3) | wire); }
    void uint(unsigned field, u64 v) {
        if (v == 0) return;  // proto3 default
        tag(field, 0);
        varint(v);
    }
    void boolean(unsigned field, bool v) {
        if (v) uint(field, 1);
    }
    void bytes(unsigned field, std::string_view s) {
        tag(field, 2);
        varint(s.size());
        buf.append(s);
    }
    void message(unsigned field, const proto& m) { bytes(field, m.buf); }
    void packed(unsigned field, const std::vector<u64>& vs) {
        if (vs.empty()) return;
        proto p;
        for (u64 v : vs) p.varint(v);
        bytes(field, p.buf);
    }
};

class string_table {
public:
    string_table() { index(""); }
    u64 index(const std::string& s) {
        auto [it, inserted] = map_.emplace(s, strings_.size());
        if (inserted) strings_.push_back(s);
        return it->second;
    }
    const std::vector<std::string>& strings() const { return strings_; }

private:
    std::unordered_map<std::string, u64> map_;
    std::vector<std::string> strings_;
};

std::vector<std::uint8_t> gzip(const std::string& data) {
    z_stream z{};
    std::vector<std::uint8_t> out;
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return out;
    out.resize(deflateBound(&z, data.size()) + 32);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string hex(const std::vector<std::uint8_t>& b) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (std::uint8_t c : b) {
        s += digits[c >> 4];
        s += digits[c & 15];
    }
    return s;
}

}  // namespace

std::optional<folded_metric> parse_folded_metric(std::string_view name) {
    if (name == "bytes") return folded_metric::bytes;
    if (name == "calls") return folded_metric::calls;
    if (name == "peak") return folded_metric::peak;
    if (name == "leaked") return folded_metric::leaked;
    return std::nullopt;
}

u64 folded_total(const trace::analysis& a, folded_metric m) {
    switch (m) {
        case folded_metric::bytes:
            return a.allocated_bytes;
        case folded_metric::calls:
            return a.allocation_calls;
        case folded_metric::peak:
            return a.peak_heap_bytes;
        case folded_metric::leaked:
            return a.live_bytes;
    }
    return 0;
}

void write_folded(std::ostream& out, const traced_process& p, folded_metric m) {
    const call_tree& t = p.tree;
    std::string line;
    for (std::size_t n = 0; n < t.values.size(); ++n) {
        const u64 v = metric_of(t.values[n], m);
        if (v == 0) continue;
        const std::vector<const trace::frame*> path = t.path(static_cast<std::uint32_t>(n));
        line.clear();
        for (auto it = path.rbegin(); it != path.rend(); ++it) {
            if (!line.empty()) line += ';';
            line += folded_name((*it)->function);
        }
        if (line.empty()) line = "[no stack]";
        line += ' ';
        line += std::to_string(v);
        line += '\n';
        out << line;
    }
}

std::vector<std::uint8_t> pprof_profile(traced_process& p) {
    const trace::analysis& a = p.analysis;
    string_table st;
    proto prof;

    auto value_type = [&](unsigned field, const char* type, const char* unit) {
        proto vt;
        vt.uint(1, st.index(type));
        vt.uint(2, st.index(unit));
        prof.message(field, vt);
    };
    value_type(1, "alloc_objects", "count");
    value_type(1, "alloc_space", "bytes");
    value_type(1, "inuse_space", "bytes");
    value_type(1, "leaked", "bytes");

    // mappings: one per module, ids from 1
    const std::vector<trace::module_info>& mods = p.reader.modules();
    std::vector<u64> mapping_lo(mods.size(), UINT64_MAX), mapping_hi(mods.size(), 0);
    for (std::size_t i = 0; i < mods.size(); ++i) {
        for (const trace::module_segment& s : mods[i].segments) {
            mapping_lo[i] = std::min(mapping_lo[i], s.start);
            mapping_hi[i] = std::max(mapping_hi[i], s.start + s.size);
        }
    }
    auto mapping_of = [&](u64 ip) -> u64 {
        for (std::size_t i = mods.size(); i-- > 0;) {
            for (const trace::module_segment& s : mods[i].segments)
                if (ip >= s.start && ip - s.start < s.size) return i + 1;
        }
        return 0;
    };

    std::map<std::pair<std::string, std::string>, u64> functions;  // (name, file) -> id
    std::unordered_map<u64, u64> locations;                        // ip -> id
    std::vector<proto> function_msgs, location_msgs;

    auto function_id = [&](const trace::frame& f) {
        auto [it, inserted] = functions.emplace(std::make_pair(f.function, f.file), functions.size() + 1);
        if (inserted) {
            proto fn;
            fn.uint(1, it->second);
            fn.uint(2, st.index(f.function));
            fn.uint(3, st.index(f.function));
            fn.uint(4, st.index(f.file));
            function_msgs.push_back(std::move(fn));
        }
        return it->second;
    };
    auto location_id = [&](u64 ip) {
        auto [it, inserted] = locations.emplace(ip, locations.size() + 1);
        if (inserted) {
            proto loc;
            loc.uint(1, it->second);
            loc.uint(2, mapping_of(ip));
            // the call instruction, as pprof expects for a return address
            loc.uint(3, ip > 0 ? ip - 1 : 0);
            for (const trace::frame& f : p.symbols->frames(ip)) {
                proto ln;
                ln.uint(1, function_id(f));
                ln.uint(2, f.line);
                loc.message(4, ln);
            }
            location_msgs.push_back(std::move(loc));
        }
        return it->second;
    };

    for (const trace::site_stats& s : a.sites) {
        if (s.calls == 0 && s.live_bytes == 0 && s.peak_bytes == 0) continue;  // free-only sites
        proto sample;
        std::vector<u64> ids;
        for (u64 ip : trace::stack_ips(s.stack, [&](u64 id) { return p.reader.stack(id); }))
            ids.push_back(location_id(ip));
        sample.packed(1, ids);
        sample.packed(2, {s.allocations, s.allocated_bytes, s.peak_bytes, s.live_bytes});
        prof.message(2, sample);
    }
    for (std::size_t i = 0; i < mods.size(); ++i) {
        proto m;
        m.uint(1, i + 1);
        m.uint(2, mapping_lo[i] == UINT64_MAX ? mods[i].base : mapping_lo[i]);
        m.uint(3, mapping_hi[i]);
        m.uint(5, st.index(mods[i].path));
        m.uint(6, st.index(hex(mods[i].build_id)));
        m.boolean(7, true);
        m.boolean(8, true);
        m.boolean(9, true);
        m.boolean(10, true);
        prof.message(3, m);
    }
    for (const proto& l : location_msgs) prof.message(4, l);
    for (const proto& f : function_msgs) prof.message(5, f);
    prof.uint(14, st.index("alloc_space"));                          // default_sample_type
    for (const std::string& str : st.strings()) prof.bytes(6, str);  // after every index() above
    prof.uint(9, a.process.start_realtime_ns);
    prof.uint(10, a.duration_ns);
    return gzip(prof.buf);
}

}  // namespace heapkit::tools
