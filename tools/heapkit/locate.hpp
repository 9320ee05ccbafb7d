// locate: where the example programs of `heapkit tour` are. In a build tree
// they sit beside the heapkit command (bin/); installed, in ../libexec/heapkit
// relative to it. An explicit directory (--examples-dir) wins.
#pragma once

#include <optional>
#include <string>

namespace heapkit::tools {

// The directory that holds `probe` (an example's file name), or nullopt.
// `explicit_dir`, when not empty, is the only place looked at.
std::optional<std::string> locate_examples(const std::string& explicit_dir, const std::string& probe);

// The places locate_examples looks at, for an error message.
std::string examples_search_path(const std::string& explicit_dir);

}  // namespace heapkit::tools
