// experiments: the table of the tour's experiments. See experiments.hpp.
#include "experiments.hpp"

#include <algorithm>
#include <array>

namespace heapkit::tools {
namespace {

constexpr std::array experiments{
    experiment{"null", "example_null_allocator", "A null allocator under operator new",
               "Register heapkit::null for every operator new and delete (HEAPKIT_GLOBAL_ALLOCATOR) and\n"
               "allocate. Does main run? What does a failed `new` do, caught and uncaught?",
               true},
    experiment{"null-malloc", "example_null_allocator_with_malloc", "A null allocator under malloc too",
               "Register heapkit::null for the malloc family as well (HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC),\n"
               "so the C and C++ runtimes cannot allocate either. The post's Rust program died before main.",
               true},
    experiment{"null-abort", "example_null_allocator_abort", "A null allocator with Rust's rules",
               "As null-malloc, but a failed allocation calls heapkit::handle_alloc_error, as Rust's runtime\n"
               "does. The post saw \"memory allocation of 4 bytes failed\" from an empty main.",
               true},
    experiment{"counting", "example_counting_allocator", "Allocation before main, and per construct",
               "heapkit::counting<heapkit::libc> under malloc and operator new: how much the runtimes allocate\n"
               "before main, and what each C++ construct allocates the first time it runs.",
               false},
    experiment{"tracing", "example_tracing_allocator", "Tracing inside the allocator",
               "heapkit::tracing<heapkit::system> writes a line per call without allocating, so it can trace\n"
               "operator new itself (the post's println! inside alloc crashed).",
               false},
    experiment{"containers", "example_containers", "Custom allocators for standard containers",
               "Vec::new_in and Box::new_in in C++: heapkit::std_allocator, make_unique_in and a pmr resource,\n"
               "each allocator reporting what it served.",
               false},
    experiment{"pages", "example_pages", "How an allocator gets memory: pages from the OS",
               "heapkit::pages and the platform layer (reserve, commit, purge, decommit, release), with the\n"
               "resident set size after each step.",
               false},
};

}  // namespace

std::span<const experiment> all_experiments() { return experiments; }

bool selects(std::string_view selector, const experiment& e) {
    if (selector == e.name) return true;
    return e.name.size() > selector.size() && e.name.starts_with(selector) && e.name[selector.size()] == '-';
}

std::vector<experiment> select_experiments(const std::vector<std::string>& selectors) {
    std::vector<experiment> chosen;
    for (const experiment& e : experiments) {
        const bool wanted = selectors.empty() || std::any_of(selectors.begin(), selectors.end(),
                                                             [&e](const std::string& s) { return selects(s, e); });
        if (wanted) chosen.push_back(e);
    }
    return chosen;
}

}  // namespace heapkit::tools
