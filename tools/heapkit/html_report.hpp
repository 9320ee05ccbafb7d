// html_report: the page of `heapkit report --html FILE`. One self-contained HTML file that opens
// offline: the page (report_page.html), its style sheet (report_page.css) and script
// (report_page.js) are built into the command (cmake/embed_files.cmake) and written inline, and the
// report's JSON data document goes into
//
//   <script type="application/json" id="heapkit-data">{...}</script>
//
// where the script draws the tables, plots and flame graph from it. The document's schema is the
// contract with `heapkit report` (docs/profile.md, "The data document"; report_page.js says which
// fields the page reads).
//
// Invariant: nothing in the data can end the data element or start markup: every '<' of the JSON
// is written as the JSON escape \u003c (a '<' can only occur inside a JSON string, where the escape
// means the same character), so "</script>" and "<!--" never appear in it.
#pragma once

#include <ostream>
#include <string_view>

namespace heapkit::tools {

// Writes the whole page with `data_json` (a JSON document as `heapkit report --json` writes it)
// embedded. The JSON is not parsed or checked here; the page reports a document it cannot read.
void write_html_report(std::ostream& out, std::string_view data_json);

// `data_json` made safe to embed in an HTML script element (every '<' as \u003c), appended to `out`.
void append_embedded_json(std::string& out, std::string_view data_json);

}  // namespace heapkit::tools
