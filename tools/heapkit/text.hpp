// text: small formatting helpers for the command's reports. A table is a
// header row and data rows of cells; columns are as wide as their widest cell
// and separated by two spaces:
//
//   experiment  program                 ended
//   ----------  -------                 -----
//   null        example_null_allocator  signal SIGABRT (Aborted)
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace heapkit::tools {

using table_row = std::vector<std::string>;

// Writes `header`, a rule under it and `rows`, aligned in columns.
void print_table(std::ostream& os, const table_row& header, const std::vector<table_row>& rows);

// Writes each line of `text` with `prefix` in front; a missing final newline is added.
void print_indented(std::ostream& os, std::string_view text, std::string_view prefix);

// `text` without trailing newlines and spaces.
std::string_view trim_end(std::string_view text);

}  // namespace heapkit::tools
