// report_data: the JSON data document of one analysed process, which
// `heapkit report --json` writes and the HTML page (html_report.hpp) embeds.
// Its schema is documented in docs/profile.md ("The report and its
// exports"); the page is built against exactly it, so fields are only ever
// added, never renamed or removed.
//
//   { "command", "pid", "duration_ns", "exit", "summary": {...},
//     "timeline": [[t_ns, heap_bytes, rss_bytes|null]...],  "histogram": [...],
//     "frames": [...], "nodes": [[parent, frame]...], "metrics": {...},
//     "snapshots": [...], "top": {...}, plus "trace", "ppid", "error",
//     "threads", "processes" }
//
// Node indices are those of the process's call tree (report_model.hpp).
#pragma once

#include "report_model.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace heapkit::tools {

struct report_data_options {
    std::size_t top = 20;  // entries per "top" list
};

// The document of `p`; `all` lists every process of the report (p among
// them) for the "processes" list that links parents and children.
std::string report_data_json(const traced_process& p, const std::vector<const traced_process*>& all,
                             const report_data_options& options = {});

// The command line of a process as one shell-like string ("prog 'a b' c").
std::string command_line(const trace::process_info& p);

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

}  // namespace heapkit::tools
