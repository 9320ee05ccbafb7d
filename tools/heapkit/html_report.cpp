// html_report: writes the page (see html_report.hpp). The page text (report_page.html) has three
// markers, each once, that are replaced when writing:
//   /*@heapkit:style@*/  by report_page.css     /*@heapkit:script@*/  by report_page.js
//   @heapkit:data@       by the escaped JSON document
// The pieces come from the generated header report_page_files.hpp (cmake/embed_files.cmake). The
// replacements are not searched again, so a marker's text inside the data is written as it is.
#include "html_report.hpp"

#include "report_page_files.hpp"

#include <span>
#include <string>
#include <utility>

namespace heapkit::tools {
namespace {

constexpr std::string_view style_marker = "/*@heapkit:style@*/";
constexpr std::string_view script_marker = "/*@heapkit:script@*/";
constexpr std::string_view data_marker = "@heapkit:data@";

std::string joined(std::span<const std::string_view> pieces) {
    std::string text;
    for (std::string_view piece : pieces) text.append(piece);
    return text;
}

}  // namespace

void append_embedded_json(std::string& out, std::string_view data_json) {
    out.reserve(out.size() + data_json.size());
    size_t from = 0;
    for (size_t at = data_json.find('<'); at != std::string_view::npos; at = data_json.find('<', from)) {
        out.append(data_json.substr(from, at - from));
        out.append("\\u003c");
        from = at + 1;
    }
    out.append(data_json.substr(from));
}

void write_html_report(std::ostream& out, std::string_view data_json) {
    const std::string page = joined(embedded::report_page_html);
    std::string data;
    append_embedded_json(data, data_json);
    const std::string css = joined(embedded::report_page_css);
    const std::string js = joined(embedded::report_page_js);
    const std::pair<std::string_view, std::string_view> replacements[] = {
        {style_marker, css}, {script_marker, js}, {data_marker, data}};
    // Write the page up to the first marker left, its replacement, and go on after the marker.
    std::string_view rest = page;
    while (!rest.empty()) {
        size_t first = std::string_view::npos;
        std::string_view replacement;
        size_t marker_size = 0;
        for (const auto& [marker, text] : replacements) {
            size_t at = rest.find(marker);
            if (at < first) {
                first = at;
                replacement = text;
                marker_size = marker.size();
            }
        }
        if (first == std::string_view::npos) {
            out << rest;
            break;
        }
        out << rest.substr(0, first) << replacement;
        rest.remove_prefix(first + marker_size);
    }
}

}  // namespace heapkit::tools
