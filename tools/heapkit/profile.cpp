// `heapkit profile [-o FILE] [--allocator heapkit|PATH] [--sample-rate BYTES]
// [--free-stacks] [--] CMD ARGS...`: runs CMD with libheapkit-profile.so
// preloaded, which records every allocation with its call stack into FILE
// (src/trace/recorder/session.hpp), then says which traces were written.
//
// The library is found like libheapkit.so for `heapkit run` (locate.hpp) and
// appended to an existing LD_PRELOAD; with --allocator, the allocator's
// library comes right after it, so the recorder forwards to it. The trace
// path is made absolute (the program may change directory); its default is
// heapkit-profile.<program>.<pid>.hkt in the current directory, <pid> the
// command's. Children that CMD forks write FILE.<pid> (named in the parent's
// trace), an exec'ed image FILE.<pid> too (its trace names the previous one).
//
// heapkit waits for CMD (ignoring SIGINT and SIGQUIT meanwhile, as a shell's
// `system` does: the terminal sends them to CMD too), prints the traces
// written and the `heapkit report` line to stderr, and exits with CMD's
// status, or re-raises CMD's signal with its default action so the status
// seen by whoever ran heapkit is CMD's own. A command that cannot be run or a
// missing library: one line, exit 127 (126: found but not executable).
#include "commands.hpp"
#include "locate.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace heapkit::tools {
namespace {

namespace fs = std::filesystem;

struct profile_options {
    std::vector<std::string> command;  // CMD and its arguments
    std::string output;                // -o: the trace (empty: the default name)
    std::string allocator;             // --allocator: "heapkit" or a library path (empty: the program's own)
    std::string library;               // --library: the recorder to preload (empty: look for it)
    std::uint64_t sample_rate = 0;     // --sample-rate
    bool free_stacks = false;          // --free-stacks
};

constexpr int cannot_run = 127;

// Where `arg` first appears on heapkit's command line (main.cpp keeps it), or its length.
std::size_t argument_position(const std::string& arg) {
    const std::vector<std::string>& all = command_line();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i] == arg) return i;
    return all.size();
}

std::string program_name(const std::string& cmd) {
    const std::string base = fs::path(cmd).filename().string();
    return base.empty() ? "program" : base;
}

// The traces of this run: FILE and FILE.<suffix> written since `since`.
std::vector<std::string> traces_written(const std::string& file, const struct timespec& since) {
    std::vector<std::string> found;
    std::error_code ec;
    const fs::path p(file);
    const std::string stem = p.filename().string();
    for (const fs::directory_entry& d : fs::directory_iterator(p.parent_path(), ec)) {
        const std::string name = d.path().filename().string();
        if (name != stem && name.rfind(stem + ".", 0) != 0) continue;
        struct stat st {};
        if (::stat(d.path().c_str(), &st) != 0) continue;
        if (st.st_mtim.tv_sec < since.tv_sec) continue;
        found.push_back(d.path().string());
    }
    std::sort(found.begin(), found.end(), [&](const std::string& a, const std::string& b) {
        if ((a == file) != (b == file)) return a == file;  // the first process's trace first
        return a < b;
    });
    return found;
}

[[noreturn]] void child_exec(const profile_options& o, const std::string& preload, const std::string& output,
                             int report_fd) {
    std::string trace = output;
    if (trace.empty())
        trace = (fs::current_path() /
                 ("heapkit-profile." + program_name(o.command[0]) + "." + std::to_string(::getpid()) + ".hkt"))
                    .string();
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    ::setenv("HEAPKIT_PROFILE_OUTPUT", trace.c_str(), 1);
    ::setenv("HEAPKIT_PROFILE_SAMPLE_RATE", std::to_string(o.sample_rate).c_str(), 1);
    if (o.free_stacks)
        ::setenv("HEAPKIT_PROFILE_FREE_STACKS", "1", 1);
    else
        ::unsetenv("HEAPKIT_PROFILE_FREE_STACKS");
    ::unsetenv("HEAPKIT_PROFILE_PREVIOUS_TRACE");
    std::vector<char*> argv;
    for (const std::string& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    const int err = errno;
    (void)!::write(report_fd, &err, sizeof err);
    ::_exit(cannot_run);
}

int profile(const profile_options& o) {
    if (o.command.empty()) {
        std::cerr << "heapkit profile: no command given; usage: heapkit profile [-o FILE] -- CMD [ARGS...]\n";
        return cannot_run;
    }
    const std::optional<std::string> recorder = locate_shared_library(o.library, profile_library);
    if (!recorder) {
        std::cerr << "heapkit profile: " << profile_library << " not found (looked at "
                  << shared_library_search_path(o.library, profile_library)
                  << "); build the heapkit_profile_shared target, install heapkit, or pass --library PATH\n";
        return cannot_run;
    }
    std::string preload = *recorder;
    if (!o.allocator.empty()) {
        const std::string explicit_path = o.allocator == "heapkit" ? "" : o.allocator;
        const std::optional<std::string> alloc = locate_shared_library(explicit_path, heapkit_library);
        if (!alloc) {
            std::cerr << "heapkit profile: allocator library '" << o.allocator << "' not found (looked at "
                      << shared_library_search_path(explicit_path, heapkit_library)
                      << "); give 'heapkit' or the path of a malloc library\n";
            return cannot_run;
        }
        preload += ":" + *alloc;
    }
    if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0')
        preload = std::string(existing) + ":" + preload;
    std::string output;
    if (!o.output.empty()) output = fs::absolute(o.output).lexically_normal().string();

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        std::cerr << "heapkit profile: pipe: " << std::strerror(errno) << '\n';
        return cannot_run;
    }
    struct timespec started {};
    ::clock_gettime(CLOCK_REALTIME, &started);
    started.tv_sec -= 1;  // file times have a coarse clock
    std::cout.flush();
    std::cerr.flush();
    struct sigaction ignore {
    }, old_int{}, old_quit{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &old_int);
    ::sigaction(SIGQUIT, &ignore, &old_quit);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGQUIT, &old_quit, nullptr);
        ::close(report[0]);
        child_exec(o, preload, output, report[1]);
    }
    ::close(report[1]);
    if (pid < 0) {
        std::cerr << "heapkit profile: fork: " << std::strerror(errno) << '\n';
        ::close(report[0]);
        return cannot_run;
    }
    int exec_error = 0;
    ssize_t got;
    do got = ::read(report[0], &exec_error, sizeof exec_error);
    while (got < 0 && errno == EINTR);
    ::close(report[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    if (got == static_cast<ssize_t>(sizeof exec_error)) {
        std::cerr << "heapkit profile: cannot run '" << o.command[0] << "': " << std::strerror(exec_error) << '\n';
        return exec_error == ENOENT ? cannot_run : 126;
    }

    const std::string main_trace =
        !output.empty() ? output
                        : (fs::current_path() /
                           ("heapkit-profile." + program_name(o.command[0]) + "." + std::to_string(pid) + ".hkt"))
                              .string();
    const std::vector<std::string> traces = traces_written(main_trace, started);
    if (traces.empty()) {
        std::cerr << "heapkit profile: no trace was written (expected " << main_trace
                  << "); was the program linked statically, or is LD_PRELOAD ignored (setuid)?\n";
    } else {
        std::cerr << "heapkit profile: wrote " << traces.front();
        if (traces.size() > 1)
            std::cerr << " (and " << traces.size() - 1 << " of child processes: " << main_trace << ".*)";
        std::cerr << "\nheapkit profile: heapkit report " << traces.front() << '\n';
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        std::cout.flush();
        std::cerr.flush();
        ::signal(sig, SIG_DFL);
        sigset_t set;
        ::sigemptyset(&set);
        ::sigaddset(&set, sig);
        ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
        ::raise(sig);
        return 128 + sig;  // a signal whose default action does not end the process
    }
    return cannot_run;
}

}  // namespace

void add_profile_command(CLI::App& app, int& status) {
    auto opts = std::make_shared<profile_options>();
    CLI::App* cmd = app.add_subcommand("profile", "Record every allocation of a program, with its call stacks");
    cmd->footer(
        "Example: heapkit profile -o /tmp/py.hkt -- python3 -c 'print(1)'; then heapkit report /tmp/py.hkt\n"
        "The command's exit status (or signal) is heapkit's. Processes it forks write FILE.<pid>.");
    cmd->add_option("-o,--output", opts->output, "the trace file (default: heapkit-profile.<program>.<pid>.hkt here)");
    cmd->add_option("--allocator", opts->allocator,
                    "run the program on another malloc: 'heapkit' (libheapkit.so) or a library's path");
    cmd->add_option("--sample-rate", opts->sample_rate,
                    "record one allocation per BYTES allocated on average (0: every allocation; frees always)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--free-stacks", opts->free_stacks, "record the call stack of frees too (slower)");
    cmd->add_option("--library", opts->library, "libheapkit-profile.so to preload (default: found next to heapkit)");
    cmd->add_option("command", opts->command, "the program and its arguments (after --)");
    cmd->prefix_command();
    cmd->callback([opts, cmd, &status] {
        // With prefix_command, an unknown option before the command also lands in
        // remaining(), beside the command's own arguments: tell them apart by
        // their place on the command line (an option of ours goes before CMD).
        std::vector<std::string> rest = cmd->remaining();
        if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
        if (!rest.empty() && !opts->command.empty() && rest.front().size() > 1 && rest.front()[0] == '-' &&
            argument_position(rest.front()) < argument_position(opts->command.front()))
            throw CLI::ExtrasError(
                "The following argument was not expected: " + rest.front() + " (not an option of heapkit profile)",
                CLI::ExitCodes::ExtrasError);
        opts->command.insert(opts->command.end(), rest.begin(), rest.end());
        status = profile(*opts);
    });
}

}  // namespace heapkit::tools
