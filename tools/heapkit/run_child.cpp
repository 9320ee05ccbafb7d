// run_child: posix_spawn with stdout and stderr on two pipes, read with poll
// until both close, then waitpid. See run_child.hpp.
#include "run_child.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace heapkit::tools {
namespace {

// A pipe whose ends close themselves.
struct pipe_pair {
    int read = -1;
    int write = -1;
    pipe_pair() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == 0) {
            read = fds[0];
            write = fds[1];
        }
    }
    ~pipe_pair() {
        close_read();
        close_write();
    }
    pipe_pair(const pipe_pair&) = delete;
    pipe_pair& operator=(const pipe_pair&) = delete;
    void close_read() {
        if (read >= 0) ::close(read);
        read = -1;
    }
    void close_write() {
        if (write >= 0) ::close(write);
        write = -1;
    }
};

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    const char* text = ::strsignal(sig);
    std::string s = abbrev != nullptr ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
    if (text != nullptr) s += " (" + std::string(text) + ")";
    return s;
}

// Reads what is available on fd into `into` and `merged`; false at end of file or error.
bool drain(int fd, std::string& into, std::string& merged) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            into.append(buf, static_cast<std::size_t>(n));
            merged.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
}

}  // namespace

std::string child_result::describe_ending() const {
    if (!started) return "not run: " + error;
    if (timed_out) return "killed after the timeout";
    if (exited) return "exit " + std::to_string(code);
    return "signal " + signal_name(signal);
}

child_result run_child(const std::string& program, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout, streams how) {
    child_result r;
    pipe_pair out, err;
    if (out.read < 0 || err.read < 0) {
        r.error = std::string("pipe: ") + std::strerror(errno);
        return r;
    }

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out.write, 1);
    ::posix_spawn_file_actions_adddup2(&actions, how == streams::merged ? out.write : err.write, 2);

    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        r.error = program + ": " + std::strerror(rc);
        return r;
    }
    r.started = true;
    out.close_write();
    err.close_write();

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.read >= 0 || err.read >= 0) {
        pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            r.timed_out = true;
            break;
        }
        const int n = ::poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (fds[0].revents != 0 && !drain(out.read, r.out, r.merged)) out.close_read();
        if (fds[1].revents != 0 && !drain(err.read, r.err, r.merged)) err.close_read();
    }

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        r.exited = true;
        r.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
    }
    return r;
}

}  // namespace heapkit::tools
