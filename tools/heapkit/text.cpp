// text: column alignment and indentation for reports. See text.hpp.
#include "text.hpp"

#include <algorithm>
#include <cstddef>

namespace heapkit::tools {
namespace {

void print_row(std::ostream& os, const table_row& row, const std::vector<std::size_t>& widths) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
        if (i != 0) line += "  ";
        line += row[i];
        if (i + 1 < row.size()) line.append(widths[i] - row[i].size(), ' ');
    }
    os << trim_end(line) << '\n';
}

}  // namespace

void print_table(std::ostream& os, const table_row& header, const std::vector<table_row>& rows) {
    std::vector<std::size_t> widths(header.size(), 0);
    auto widen = [&widths](const table_row& row) {
        if (row.size() > widths.size()) widths.resize(row.size(), 0);
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    };
    widen(header);
    for (const table_row& row : rows) widen(row);

    table_row rule;
    for (const std::string& cell : header) rule.emplace_back(cell.size(), '-');
    print_row(os, header, widths);
    print_row(os, rule, widths);
    for (const table_row& row : rows) print_row(os, row, widths);
}

void print_indented(std::ostream& os, std::string_view text, std::string_view prefix) {
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        os << trim_end(std::string(prefix) + std::string(line)) << '\n';
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
}

std::string_view trim_end(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

}  // namespace heapkit::tools
