// commands: each subcommand of `heapkit` registers itself on the command line
// with one function, which sets `status` (the process's exit code) when the
// subcommand runs.
#pragma once

namespace CLI {
class App;
}

#include <string>
#include <vector>

namespace heapkit::tools {

// heapkit's own arguments as main received them (for a subcommand that must
// know the order of what CLI11 gives it back).
std::vector<std::string>& command_line();

// `heapkit tour`: runs the post's experiments and reports them (tour.cpp).
void add_tour_command(CLI::App& app, int& status);

// `heapkit run -- CMD ARGS...`: runs CMD with libheapkit.so preloaded (run.cpp).
void add_run_command(CLI::App& app, int& status);

// `heapkit profile -- CMD ARGS...`: records CMD's allocations into a trace (profile.cpp).
void add_profile_command(CLI::App& app, int& status);

// `heapkit report TRACE...`: analyses recorded traces and reports them (report.cpp).
void add_report_command(CLI::App& app, int& status);

}  // namespace heapkit::tools
