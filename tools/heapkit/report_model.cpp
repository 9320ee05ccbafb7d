// report_model: loading a trace and building its call tree (report_model.hpp).
#include "report_model.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

namespace heapkit::tools {
namespace {

std::string frame_key(const trace::frame& f) {
    std::string k = f.function;
    k += '\0';
    k += f.file;
    k += '\0';
    k += std::to_string(f.line);
    k += '\0';
    k += f.module;
    k += f.inlined ? "\1" : "\0";
    return k;
}

class tree_builder {
public:
    tree_builder(call_tree& t, const trace::reader& r, trace::symbolizer& s) : t_(t), r_(r), s_(s) {
        t_.nodes.emplace_back(-1, -1);
        memo_.emplace(0, 0);
    }

    // The node of a stack id's innermost frame.
    std::uint32_t node_of(std::uint64_t stack) {
        if (auto it = memo_.find(stack); it != memo_.end()) return it->second;
        // the ids from this one out to the first known (or the root)
        std::vector<std::uint64_t> chain;
        std::uint64_t id = stack;
        std::uint32_t node = 0;
        for (std::size_t guard = 0;; ++guard) {
            if (auto it = memo_.find(id); it != memo_.end()) {
                node = it->second;
                break;
            }
            const trace::stack_node* n = r_.stack(id);
            if (n == nullptr || guard > 4096) {  // unknown id, or deeper than any stack (a cycle): stop
                node = 0;
                if (n == nullptr && id != 0) {
                    // keep the unknown id visible as one frame
                    trace::frame f;
                    f.function = "[unknown stack " + std::to_string(id) + "]";
                    node = child(0, frame_index(f));
                    memo_.emplace(id, node);
                }
                break;
            }
            chain.push_back(id);
            id = n->parent;
        }
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            const trace::stack_node* n = r_.stack(*it);
            const std::vector<trace::frame>& fs = s_.frames(n->ip);
            for (auto f = fs.rbegin(); f != fs.rend(); ++f) node = child(node, frame_index(*f));
            memo_.emplace(*it, node);
        }
        return node;
    }

private:
    std::uint32_t frame_index(const trace::frame& f) {
        std::string k = frame_key(f);
        if (auto it = frames_.find(k); it != frames_.end()) return it->second;
        const auto i = static_cast<std::uint32_t>(t_.frames.size());
        t_.frames.push_back(f);
        frames_.emplace(std::move(k), i);
        return i;
    }
    std::uint32_t child(std::uint32_t parent, std::uint32_t frame) {
        const std::uint64_t k = (std::uint64_t{parent} << 32) | frame;
        if (auto it = children_.find(k); it != children_.end()) return it->second;
        const auto i = static_cast<std::uint32_t>(t_.nodes.size());
        t_.nodes.emplace_back(parent, frame);
        children_.emplace(k, i);
        return i;
    }

    call_tree& t_;
    const trace::reader& r_;
    trace::symbolizer& s_;
    std::unordered_map<std::uint64_t, std::uint32_t> memo_;      // stack id -> node
    std::unordered_map<std::string, std::uint32_t> frames_;      // frame key -> index
    std::unordered_map<std::uint64_t, std::uint32_t> children_;  // parent << 32 | frame -> node
};

}  // namespace

std::vector<const trace::frame*> call_tree::path(std::uint32_t node) const {
    std::vector<const trace::frame*> out;
    while (node != 0 && node < nodes.size()) {
        out.push_back(&frames[static_cast<std::size_t>(nodes[node].second)]);
        node = static_cast<std::uint32_t>(nodes[node].first);
    }
    return out;
}

call_tree build_call_tree(const trace::analysis& a, const trace::reader& r, trace::symbolizer& symbols) {
    call_tree t;
    tree_builder b(t, r, symbols);
    t.site_node.reserve(a.sites.size());
    for (const trace::site_stats& s : a.sites) t.site_node.push_back(b.node_of(s.stack));
    t.values.assign(t.nodes.size(), {});
    for (std::size_t i = 0; i < a.sites.size(); ++i) {
        const trace::site_stats& s = a.sites[i];
        node_values& v = t.values[t.site_node[i]];
        v.calls += s.calls;
        v.allocations += s.allocations;
        v.allocated += s.allocated_bytes;
        v.peak += s.peak_bytes;
        v.leaked += s.live_bytes;
        v.leaked_blocks += s.live_blocks;
        v.temporary += s.temporary;
    }
    return t;
}

std::unique_ptr<traced_process> load_trace(const std::string& path, std::shared_ptr<trace::symbol_cache> symbols,
                                           const trace::analysis_options& options) {
    auto p = std::make_unique<traced_process>();
    p->path = path;
    if (!p->reader.open(path)) {
        p->analysis.error = p->reader.error();
        p->symbols = std::make_unique<trace::symbolizer>(std::vector<trace::module_info>{}, symbols);
        p->tree = build_call_tree(p->analysis, p->reader, *p->symbols);
        return p;
    }
    p->opened = true;
    p->analysis = trace::analyze(p->reader, options);
    p->symbols = std::make_unique<trace::symbolizer>(p->reader.modules(), symbols);
    p->tree = build_call_tree(p->analysis, p->reader, *p->symbols);
    return p;
}

std::string describe_frame(const trace::frame& f) {
    std::string s = f.function;
    if (!f.file.empty()) {
        const std::size_t slash = f.file.rfind('/');
        s += " (";
        s += slash == std::string::npos ? f.file : f.file.substr(slash + 1);
        if (f.line != 0) {
            s += ':';
            s += std::to_string(f.line);
        }
        s += ')';
    } else if (!f.module.empty() && f.function.find(f.module) == std::string::npos) {
        s += " (";
        s += f.module;
        s += ')';
    }
    if (f.inlined) s += " [inlined]";
    return s;
}

std::vector<std::string> child_traces(const std::string& path, const trace::analysis& a) {
    namespace fs = std::filesystem;
    std::map<std::string, std::string> out;  // canonical path -> as found
    auto add = [&out](const fs::path& c) {
        std::error_code e;
        const fs::path k = fs::weakly_canonical(c, e);
        out.emplace(e ? c.string() : k.string(), c.string());
    };
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    const std::string prefix = p.filename().string() + ".";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        if (std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
            add(p.has_parent_path() ? (dir / name) : fs::path(name));
    }
    for (const trace::fork_info& f : a.forks) {
        if (f.child_trace.empty()) continue;
        fs::path c(f.child_trace);
        if (c.is_relative() && !fs::exists(c, ec)) c = dir / c;
        if (fs::exists(c, ec)) add(c);
    }
    const fs::path self = fs::weakly_canonical(p, ec);
    out.erase(ec ? path : self.string());
    std::vector<std::string> r;
    for (auto& [k, v] : out) r.push_back(v);
    return r;
}

}  // namespace heapkit::tools
