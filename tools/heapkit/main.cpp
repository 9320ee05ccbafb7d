// heapkit: the command-line tool. main parses the command line with CLI11 and
// runs the one subcommand given; a wrong argument prints the reason and a
// hint to stderr and exits non-zero.
#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#ifndef HEAPKIT_VERSION
#define HEAPKIT_VERSION "unknown"
#endif

std::vector<std::string>& heapkit::tools::command_line() {
    static std::vector<std::string> args;
    return args;
}

int main(int argc, char** argv) {
    heapkit::tools::command_line().assign(argv, argv + argc);
    CLI::App app{"heapkit: a memory-allocation toolkit", "heapkit"};
    app.set_version_flag("--version", "heapkit " HEAPKIT_VERSION);
    app.require_subcommand(1);

    int status = 0;
    heapkit::tools::add_tour_command(app, status);
    heapkit::tools::add_run_command(app, status);
    heapkit::tools::add_profile_command(app, status);
    heapkit::tools::add_report_command(app, status);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::cerr << "heapkit: " << e.what() << '\n';
        return 1;
    }
    return status;
}
