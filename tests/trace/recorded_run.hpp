// recorded_run: runs a program with libheapkit-profile.so preloaded and reads
// the traces it wrote, for the recorder's tests.
//
//   recorded r = record_run({HEAPKIT_REC_KNOWN}, dir / "t.hkt");
//   r.out, r.status (waitpid's), r.traces["..."] (every file base, base.*),
//   r.main(): the first process's trace, decoded: its events, process, modules
#pragma once

#include "trace/reader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace heapkit::trace::testing {

// A trace read to its end.
struct decoded {
    std::string path;
    bool opened = false;
    std::vector<event> events;
    process_info process;
    std::vector<module_info> modules;
    std::vector<thread_info> threads;
    std::map<std::uint64_t, stack_node> stacks;
    bool complete = false;
    std::string error;  // empty: none
    std::uint64_t lost = 0;

    // The stack `id` as return addresses, innermost first.
    std::vector<std::uint64_t> frames(std::uint64_t id) const {
        std::vector<std::uint64_t> f;
        while (id != 0 && f.size() < 1000) {
            auto it = stacks.find(id);
            if (it == stacks.end()) break;
            f.push_back(it->second.ip);
            id = it->second.parent;
        }
        return f;
    }
    // The module whose segments hold `ip`, or nullptr.
    const module_info* module_of(std::uint64_t ip) const {
        for (const module_info& m : modules)
            for (const module_segment& s : m.segments)
                if (ip >= s.start && ip < s.start + s.size) return &m;
        return nullptr;
    }
    std::vector<const event*> find(record kind, std::uint64_t size) const {
        std::vector<const event*> r;
        for (const event& e : events)
            if (e.kind == kind && e.size == size) r.push_back(&e);
        return r;
    }
    const event* last() const { return events.empty() ? nullptr : &events.back(); }
};

inline decoded decode(const std::string& path) {
    decoded d;
    d.path = path;
    reader r;
    d.opened = r.open(path);
    if (!d.opened) {
        d.error = r.error() ? r.error()->describe() : "cannot open";
        return d;
    }
    event e;
    while (r.next(e)) d.events.push_back(e);
    d.process = r.process();
    d.modules = r.modules();
    d.threads = r.threads();
    d.complete = r.complete();
    d.lost = r.lost_events();
    if (r.error()) d.error = r.error()->describe();
    for (const event& ev : d.events)
        for (std::uint64_t id = ev.stack; id != 0;) {
            if (d.stacks.count(id) != 0) break;
            const stack_node* n = r.stack(id);
            if (n == nullptr) break;
            d.stacks[id] = *n;
            id = n->parent;
        }
    return d;
}

struct recorded {
    std::string out;                 // the program's stdout
    int status = -1;                 // waitpid's status
    std::string base;                // HEAPKIT_PROFILE_OUTPUT
    std::vector<std::string> files;  // base and base.* that exist, base first

    decoded main() const { return decode(base); }
    int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
    int signal() const { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
};

// A fresh directory for one test's traces.
inline std::filesystem::path scratch_dir(const std::string& name) {
    const std::filesystem::path d =
        std::filesystem::temp_directory_path() / ("heapkit-recorder-test-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

// Runs argv with the recorder preloaded (`preload` empty: without it) and
// `env` added; waits; lists the traces.
inline recorded run_program(const std::vector<std::string>& argv, const std::string& base, const std::string& preload,
                            const std::vector<std::string>& env = {}) {
    recorded r;
    r.base = base;
    int fds[2];
    if (::pipe(fds) != 0) return r;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::close(fds[0]);
        ::close(fds[1]);
        const int null_in = ::open("/dev/null", O_RDONLY);
        if (null_in >= 0) ::dup2(null_in, 0);
        if (!preload.empty())
            ::setenv("LD_PRELOAD", preload.c_str(), 1);
        else
            ::unsetenv("LD_PRELOAD");
        ::setenv("HEAPKIT_PROFILE_OUTPUT", base.c_str(), 1);
        for (const std::string& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    ::waitpid(pid, &r.status, 0);
    namespace fs = std::filesystem;
    const fs::path b(base);
    std::vector<std::string> others;
    std::error_code ec;
    for (const fs::directory_entry& d : fs::directory_iterator(b.parent_path(), ec)) {
        const std::string name = d.path().filename().string();
        if (name == b.filename().string())
            r.files.insert(r.files.begin(), d.path().string());
        else if (name.rfind(b.filename().string() + ".", 0) == 0)
            others.push_back(d.path().string());
    }
    r.files.insert(r.files.end(), others.begin(), others.end());
    return r;
}

}  // namespace heapkit::trace::testing
