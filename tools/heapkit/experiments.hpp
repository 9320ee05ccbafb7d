// experiments: the post's experiments as `heapkit tour` runs them. Each is an
// example program (examples/<file>.cpp, built as example_<file>) with the
// question it answers and the way it is expected to end: the null-allocator
// programs die by a signal, the others exit 0.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace heapkit::tools {

struct experiment {
    std::string_view name;      // what `--only` takes; "null" also selects "null-malloc" and "null-abort"
    std::string_view program;   // file name of the example program
    std::string_view title;     // the section heading
    std::string_view question;  // what it tries, as in the post
    bool dies;                  // expected to end by a signal (and its stderr is "the message")
};

// Every experiment, in tour order.
std::span<const experiment> all_experiments();

// True when `selector` (a --only value) selects `e`: the same name, or the
// name's first part before '-' ("null" selects "null-malloc").
bool selects(std::string_view selector, const experiment& e);

// The experiments that any of `selectors` selects, in tour order; all of them when empty.
std::vector<experiment> select_experiments(const std::vector<std::string>& selectors);

}  // namespace heapkit::tools
