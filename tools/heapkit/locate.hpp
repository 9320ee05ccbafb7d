// locate: where the example programs of `heapkit tour` are, and where
// libheapkit.so (`heapkit run`) and libheapkit-profile.so (`heapkit profile`) are. In a build tree
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

// The preload libraries the commands use: libheapkit.so (`heapkit run`,
// `heapkit profile --allocator heapkit`) and libheapkit-profile.so (the
// recorder of `heapkit profile`).
inline constexpr const char* heapkit_library = "libheapkit.so";
inline constexpr const char* profile_library = "libheapkit-profile.so";

// A preload library `name`: ../lib next to the command (a build tree's bin/
// and lib/), ../<libdir>/heapkit (installed), then the build tree's lib
// directory and <install libdir>/heapkit this command was configured with.
// `explicit_path`, when not empty, is the only one tried.
std::optional<std::string> locate_shared_library(const std::string& explicit_path,
                                                 const char* name = heapkit_library);

// The places locate_shared_library looks at, for an error message.
std::string shared_library_search_path(const std::string& explicit_path, const char* name = heapkit_library);

}  // namespace heapkit::tools
