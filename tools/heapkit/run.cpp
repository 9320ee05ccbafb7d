// `heapkit run -- CMD ARGS...`: runs CMD with libheapkit.so preloaded, so
// the whole program (malloc and operator new) is on heapkit malloc.
//
// The library is looked up next to this command (../lib, ../<libdir>), then
// in the build tree and the install libdir (locate.hpp), or given with
// --library. It is appended to an existing LD_PRELOAD. heapkit then execs
// the command in its own process: the exit status and signals are the
// command's own. Errors (no library, no command, a command that cannot be
// run) print one line and exit 127, as a shell does for a missing command.
#include "commands.hpp"
#include "locate.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

namespace heapkit::tools {
namespace {

struct run_options {
    std::vector<std::string> command;  // CMD and its arguments
    std::string library;               // --library: explicit path (empty: look for it)
    bool stats = false;                // --stats: HEAPKIT_STATS=1
    bool verbose = false;              // --verbose: say which library, HEAPKIT_VERBOSE=1
};

constexpr int cannot_run = 127;

int run(const run_options& o) {
    if (o.command.empty()) {
        std::cerr << "heapkit run: no command given; usage: heapkit run [--library PATH] -- CMD [ARGS...]\n";
        return cannot_run;
    }
    const std::optional<std::string> library = locate_shared_library(o.library);
    if (!library) {
        std::cerr << "heapkit run: libheapkit.so not found (looked at " << shared_library_search_path(o.library)
                  << "); build the heapkit_shared target, install heapkit, or pass --library PATH\n";
        return cannot_run;
    }
    std::string preload = *library;
    if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0')
        preload = std::string(existing) + ":" + *library;
    if (::setenv("LD_PRELOAD", preload.c_str(), 1) != 0) {
        std::cerr << "heapkit run: setenv LD_PRELOAD: " << std::strerror(errno) << '\n';
        return cannot_run;
    }
    if (o.stats) ::setenv("HEAPKIT_STATS", "1", 1);
    if (o.verbose) {
        ::setenv("HEAPKIT_VERBOSE", "1", 1);
        std::cerr << "heapkit run: LD_PRELOAD=" << preload << '\n';
    }
    std::vector<char*> argv;
    for (const std::string& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::cout.flush();
    ::execvp(argv[0], argv.data());
    const int err = errno;
    std::cerr << "heapkit run: cannot run '" << o.command[0] << "': " << std::strerror(err) << '\n';
    return err == ENOENT ? cannot_run : 126;
}

}  // namespace

void add_run_command(CLI::App& app, int& status) {
    auto opts = std::make_shared<run_options>();
    CLI::App* cmd = app.add_subcommand("run", "Run a program with libheapkit.so preloaded (heapkit malloc)");
    cmd->footer(
        "Example: heapkit run --stats -- python3 -c 'print(1)'\n"
        "The command's exit status is heapkit's. LD_PRELOAD, when set, keeps its libraries.");
    cmd->add_option("--library", opts->library, "libheapkit.so to preload (default: found next to heapkit)");
    cmd->add_flag("--stats", opts->stats, "print heapkit's statistics at exit (HEAPKIT_STATS=1)");
    cmd->add_flag("-v,--verbose", opts->verbose, "say what is preloaded (and HEAPKIT_VERBOSE=1)");
    // `-- CMD ARGS...` all land in `command`; without `--`, CMD does and prefix_command()
    // leaves its arguments in remaining() (with the `--` itself when one was given).
    cmd->add_option("command", opts->command, "the program and its arguments (after --)");
    cmd->prefix_command();
    cmd->callback([opts, cmd, &status] {
        std::vector<std::string> rest = cmd->remaining();
        if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
        opts->command.insert(opts->command.end(), rest.begin(), rest.end());
        status = run(*opts);
    });
}

}  // namespace heapkit::tools
