// `heapkit tour`: runs each experiment's example program as a child process
// and prints a report: a section per experiment (what it tries, how the
// process ended, its message for the null-allocator ones, its output with
// the tables as printed), then a summary table. Exits 0 when every program
// ended as expected (see experiments.hpp), 1 when one did not, 2 when the
// programs cannot be found.
#include "commands.hpp"
#include "experiments.hpp"
#include "locate.hpp"
#include "run_child.hpp"
#include "text.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace heapkit::tools {
namespace {

struct tour_options {
    std::vector<std::string> only;  // --only: experiment names (empty: all)
    std::string examples_dir;       // --examples-dir: where the programs are (empty: look for them)
    int timeout_seconds = 120;      // --timeout: per program
    bool list = false;              // --list: print the experiments and stop
};

bool ended_as_expected(const experiment& e, const child_result& r) {
    if (!r.started || r.timed_out) return false;
    return e.dies ? !r.exited : r.exited && r.code == 0;
}

std::string expected_ending(const experiment& e) { return e.dies ? "a signal" : "exit 0"; }

void print_section(std::ostream& os, std::size_t number, const experiment& e, const child_result& r) {
    os << "== " << number << ". " << e.title << " [" << e.name << "]\n";
    print_indented(os, e.question, "");
    os << "program: " << e.program << '\n';
    os << "ended:   " << r.describe_ending();
    if (!ended_as_expected(e, r)) os << "  (unexpected: expected " << expected_ending(e) << ")";
    os << '\n';
    if (e.dies) {
        const std::string_view message = trim_end(r.err);
        if (message.empty()) {
            os << "message: (nothing on stderr)\n";
        } else {
            const std::size_t first_end = message.find('\n');
            os << "message: " << message.substr(0, first_end) << '\n';
            if (first_end != std::string_view::npos) print_indented(os, message.substr(first_end + 1), "         ");
        }
        if (!trim_end(r.out).empty()) {
            os << "output before it ended:\n";
            print_indented(os, r.out, "    ");
        }
    } else if (!trim_end(r.merged).empty()) {
        os << "output:\n";
        print_indented(os, r.merged, "    ");
    }
    os << '\n';
}

void print_list(std::ostream& os) {
    std::vector<table_row> rows;
    for (const experiment& e : all_experiments()) rows.push_back({std::string(e.name), std::string(e.program), std::string(e.title)});
    print_table(os, {"experiment", "program", "title"}, rows);
}

int run_tour(const tour_options& o) {
    std::ostream& os = std::cout;
    if (o.list) {
        print_list(os);
        return 0;
    }
    const std::vector<experiment> chosen = select_experiments(o.only);
    const auto dir = locate_examples(o.examples_dir, std::string(chosen.front().program));
    if (!dir) {
        std::cerr << "heapkit tour: cannot find the example programs (" << chosen.front().program << ") in "
                  << examples_search_path(o.examples_dir)
                  << "; build them (cmake --build <dir>) or pass --examples-dir DIR\n";
        return 2;
    }

    os << "heapkit tour: the experiments of \"Allocation API and allocators\", run on this machine\n";
    os << "programs: " << *dir << "\n\n";

    std::vector<table_row> summary;
    bool all_expected = true;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        const experiment& e = chosen[i];
        // A program expected to die keeps stderr apart: that is its message.
        const child_result r = run_child(*dir + "/" + std::string(e.program), {}, std::chrono::seconds(o.timeout_seconds),
                                         e.dies ? streams::separate : streams::merged);
        print_section(os, i + 1, e, r);
        os.flush();
        const bool expected = ended_as_expected(e, r);
        all_expected = all_expected && expected;
        summary.push_back({std::string(e.name), std::string(e.program), r.describe_ending(), expected ? "yes" : "NO"});
    }

    os << "== summary\n";
    print_table(os, {"experiment", "program", "ended", "as expected"}, summary);
    return all_expected ? 0 : 1;
}

// Accepts a --only value that selects at least one experiment.
CLI::Validator experiment_name() {
    std::string names;
    for (const experiment& e : all_experiments()) names += (names.empty() ? "" : ", ") + std::string(e.name);
    return CLI::Validator(
        [names](std::string& value) -> std::string {
            for (const experiment& e : all_experiments()) {
                if (selects(value, e)) return {};
            }
            return "unknown experiment '" + value + "'; choose from: " + names;
        },
        "NAME", "experiment");
}

}  // namespace

void add_tour_command(CLI::App& app, int& status) {
    auto options = std::make_shared<tour_options>();
    CLI::App* tour = app.add_subcommand("tour", "Run the post's experiments (the example programs) and report what happened");
    tour->add_option("--only", options->only, "Run only these experiments (see --list); 'null' selects every null one")
        ->check(experiment_name());
    tour->add_option("--examples-dir", options->examples_dir, "Directory of the example programs")
        ->check(CLI::ExistingDirectory);
    tour->add_option("--timeout", options->timeout_seconds, "Seconds each program may run")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    tour->add_flag("--list", options->list, "List the experiments and exit");
    tour->callback([options, &status] { status = run_tour(*options); });
}

}  // namespace heapkit::tools
