// report_model: one analysed trace ready to be shown: its reader (for the
// stack and module metadata), its analysis, its symbolizer, and the call
// tree that every output of `heapkit report` (terminal, folded, JSON, HTML)
// is drawn from.
//
// The call tree: frames are symbolised source frames (inline frames
// expanded), deduplicated; a node is one distinct call path of frames,
// stored as (parent node, frame); node 0 is the root (-1, -1) and parents
// come before their children. Different stack ids whose addresses symbolise
// to the same frames share a node. Each analysis site maps to the node of its
// innermost frame; `values` sums the sites of each node (self values).
#pragma once

#include "trace/analysis.hpp"
#include "trace/reader.hpp"
#include "trace/symbolize.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace heapkit::tools {

struct node_values {
    std::uint64_t calls = 0;  // alloc and realloc calls
    std::uint64_t allocations = 0;
    std::uint64_t allocated = 0;  // bytes
    std::uint64_t peak = 0;       // bytes live at the peak
    std::uint64_t leaked = 0;     // bytes live at the end
    std::uint64_t leaked_blocks = 0;
    std::uint64_t temporary = 0;
};

struct call_tree {
    std::vector<trace::frame> frames;
    std::vector<std::pair<std::int64_t, std::int64_t>> nodes;  // (parent, frame); nodes[0] = (-1, -1)
    std::vector<std::uint32_t> site_node;                      // analysis site index -> node
    std::vector<node_values> values;                           // per node: the sum of its sites

    // The frames from `node` up to the root: innermost first.
    std::vector<const trace::frame*> path(std::uint32_t node) const;
};

struct traced_process {
    std::string path;
    trace::reader reader;
    trace::analysis analysis;
    std::unique_ptr<trace::symbolizer> symbols;
    call_tree tree;
    bool opened = false;  // false: reader.error() says why nothing was read
};

// Opens and analyses one trace, then symbolises its sites into the call tree.
// `symbols`: a cache shared by the traces of one report (children load the same libraries).
std::unique_ptr<traced_process> load_trace(const std::string& path, std::shared_ptr<trace::symbol_cache> symbols,
                                           const trace::analysis_options& options = {});

// Builds the call tree of an analysis (load_trace does this).
call_tree build_call_tree(const trace::analysis& a, const trace::reader& r, trace::symbolizer& symbols);

// A frame as one line: "fn (file:line)" with the file's base name; " [inlined]" when it was.
std::string describe_frame(const trace::frame& f);

// The sibling traces of a forked process: PATH.<digits> next to PATH, and the
// traces named by the analysis' fork records that exist. Sorted, without PATH.
std::vector<std::string> child_traces(const std::string& path, const trace::analysis& a);

}  // namespace heapkit::tools
