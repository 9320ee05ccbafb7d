// interpose_process: the calls that change the process rather than its heap
// blocks: mappings (mmap/munmap/mremap), modules (dlopen/dlclose), fork, the
// exec family, exit/_exit/_Exit/abort, and __libc_start_main (to see main
// start and return). Each forwards to the next definition and tells the
// session (session.hpp) or records an event.
//
// exec: every exec function is interposed, because glibc's own calls between
// them (execvp -> execve) do not go through the PLT. The new image gets
// HEAPKIT_PROFILE_PREVIOUS_TRACE=<pid>:<this trace> in its environment (in a
// copy of the environment array in mmap'ed memory; the program's own array is
// never changed). A vfork child (its pid differs from the session's) execs
// untouched and records nothing.
//
// dlopen: the real dlopen sees the recorder as its caller. glibc uses the
// caller to pick the namespace (the same here) and the DT_RPATH/DT_RUNPATH
// searched for a bare library name: a library that dlopens a bare name that
// only its own RUNPATH finds is the one case this changes (heaptrack's preload
// shares it). LD_LIBRARY_PATH, the executable's DT_RPATH and paths with a
// slash behave as without the recorder.
#include "trace/recorder/events.hpp"
#include "trace/recorder/next.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/session.hpp"

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstring>

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#define HK_API extern "C" __attribute__((visibility("default")))

using namespace heapkit::trace;
using namespace heapkit::trace::recorder;

namespace {

inline next_fns& n() noexcept { return next(); }

// libunwind maps its caches while it unwinds for us: those mappings are the recorder's, not the program's.
inline bool should_record_mapping() noexcept { return should_record() && tls_state.unwinding == 0; }

// ---- exec: the environment with HEAPKIT_PROFILE_PREVIOUS_TRACE replaced ----
struct env_copy {
    char** env = nullptr;
    std::size_t bytes = 0;
    ~env_copy() {
        if (env != nullptr) unmap_pages(env, bytes);
    }
};

char* const* with_previous(char* const* envp, env_copy& copy) noexcept {
    const char* entry = session_previous_env();
    if (*entry == '\0') return envp;
    const char* eq = std::strchr(entry, '=');
    const std::size_t key = static_cast<std::size_t>(eq - entry) + 1;
    std::size_t count = 0;
    if (envp != nullptr)
        while (envp[count] != nullptr) ++count;
    copy.bytes = (count + 2) * sizeof(char*);
    copy.env = static_cast<char**>(map_pages(copy.bytes));
    if (copy.env == nullptr) return envp;
    std::size_t k = 0;
    for (std::size_t i = 0; i < count; ++i)
        if (std::strncmp(envp[i], entry, key) != 0) copy.env[k++] = envp[i];
    copy.env[k++] = const_cast<char*>(entry);
    copy.env[k] = nullptr;
    return copy.env;
}

bool exec_recorded() noexcept { return session_recording() && current_pid() == session_pid; }

int exec_common(const char* shown, int (*run)(const void*, char* const*, char* const*), const void* what,
                char* const* argv, char* const* envp) noexcept {
    if (!exec_recorded()) return run(what, argv, envp);
    session_before_exec(shown);
    env_copy copy;
    const int rc = run(what, argv, with_previous(envp, copy));
    const int saved = errno;
    session_exec_failed();
    errno = saved;
    return rc;
}

int run_execve(const void* path, char* const* argv, char* const* envp) {
    return n().execve(static_cast<const char*>(path), argv, envp);
}
int run_execvpe(const void* file, char* const* argv, char* const* envp) {
    return n().execvpe(static_cast<const char*>(file), argv, envp);
}
int run_fexecve(const void* fd, char* const* argv, char* const* envp) {
    return n().fexecve(*static_cast<const int*>(fd), argv, envp);
}

// execl's arguments as an array (mmap'ed; `tail` receives what follows the NULL: execle's envp).
struct arg_array {
    char** argv = nullptr;
    std::size_t bytes = 0;
    ~arg_array() {
        if (argv != nullptr) unmap_pages(argv, bytes);
    }
};

}  // namespace

extern char** environ;

HK_API void* mmap(void* addr, std::size_t length, int prot, int flags, int fd, off_t offset) noexcept {
    void* p = n().mmap(addr, length, prot, flags, fd, offset);
    if (p != MAP_FAILED && should_record_mapping()) record_mmap(p, length, prot, flags, fd, HK_FRAME);
    return p;
}
HK_API void* mmap64(void* addr, std::size_t length, int prot, int flags, int fd, off_t offset) noexcept
    __attribute__((alias("mmap")));

HK_API int munmap(void* addr, std::size_t length) noexcept {
    if (should_record_mapping()) record_munmap(addr, length, HK_FRAME);
    return n().munmap(addr, length);
}

HK_API void* mremap(void* old_addr, std::size_t old_length, std::size_t new_length, int flags, ...) noexcept {
    void* new_addr = nullptr;
    if ((flags & MREMAP_FIXED) != 0) {
        va_list ap;
        va_start(ap, flags);
        new_addr = va_arg(ap, void*);
        va_end(ap);
    }
    void* p = n().mremap(old_addr, old_length, new_length, flags, new_addr);
    if (p != MAP_FAILED && should_record_mapping()) record_mremap(old_addr, old_length, p, new_length, HK_FRAME);
    return p;
}

HK_API void* dlopen(const char* file, int mode) noexcept {
    void* h = n().dlopen(file, mode);
    if (h != nullptr) session_modules_changed();
    return h;
}

HK_API int dlclose(void* handle) noexcept {
    const int rc = n().dlclose(handle);
    if (rc == 0) session_modules_changed();
    return rc;
}

HK_API pid_t fork() noexcept {
    const pid_t pid = n().fork();
    if (pid > 0) {
        const int saved = errno;
        session_forked_parent(pid);
        errno = saved;
    }
    return pid;
}

HK_API int execve(const char* path, char* const argv[], char* const envp[]) noexcept {
    return exec_common(path, run_execve, path, argv, envp);
}
HK_API int execv(const char* path, char* const argv[]) noexcept {
    return exec_common(path, run_execve, path, argv, environ);
}
HK_API int execvpe(const char* file, char* const argv[], char* const envp[]) noexcept {
    return exec_common(file, run_execvpe, file, argv, envp);
}
HK_API int execvp(const char* file, char* const argv[]) noexcept {
    return exec_common(file, run_execvpe, file, argv, environ);
}
HK_API int fexecve(int fd, char* const argv[], char* const envp[]) noexcept {
    return exec_common("(fexecve)", run_fexecve, &fd, argv, envp);
}

namespace {

// Collects execl-style arguments (arg0 first, up to the NULL) into `a`, leaving `ap` after the
// NULL (where execle's envp is); false with errno ENOMEM when there is no memory for them.
bool collect_args(arg_array& a, const char* arg0, va_list ap) noexcept {
    va_list count;
    va_copy(count, ap);
    std::size_t nargs = 1;
    while (va_arg(count, char*) != nullptr) ++nargs;
    va_end(count);
    a.bytes = (nargs + 1) * sizeof(char*);
    a.argv = static_cast<char**>(map_pages(a.bytes));
    if (a.argv == nullptr) {
        errno = ENOMEM;
        return false;
    }
    a.argv[0] = const_cast<char*>(arg0);
    for (std::size_t i = 1; i < nargs; ++i) a.argv[i] = va_arg(ap, char*);
    (void)va_arg(ap, char*);  // the NULL
    a.argv[nargs] = nullptr;
    return true;
}

}  // namespace

HK_API int execl(const char* path, const char* arg, ...) noexcept {
    arg_array a;
    va_list ap;
    va_start(ap, arg);
    const bool ok = collect_args(a, arg, ap);
    va_end(ap);
    return ok ? execv(path, a.argv) : -1;
}

HK_API int execlp(const char* file, const char* arg, ...) noexcept {
    arg_array a;
    va_list ap;
    va_start(ap, arg);
    const bool ok = collect_args(a, arg, ap);
    va_end(ap);
    return ok ? execvp(file, a.argv) : -1;
}

HK_API int execle(const char* path, const char* arg, ...) noexcept {
    arg_array a;
    va_list ap;
    va_start(ap, arg);
    const bool ok = collect_args(a, arg, ap);
    char* const* envp = ok ? va_arg(ap, char* const*) : nullptr;
    va_end(ap);
    return ok ? execve(path, a.argv, envp) : -1;
}

HK_API __attribute__((noreturn)) void exit(int status) noexcept {
    session_set_exit_status(status);
    n().exit(status);
    __builtin_unreachable();
}

// No noexcept: unistd.h declares _exit without __THROW (clang rejects the mismatch).
HK_API __attribute__((noreturn)) void _exit(int status) {
    session_end(end_how::exit_now, status, true);
    n().exit_now(status);
    __builtin_unreachable();
}

HK_API __attribute__((noreturn)) void _Exit(int status) noexcept {
    session_end(end_how::exit_now, status, true);
    n().exit_now_c(status);
    __builtin_unreachable();
}

HK_API __attribute__((noreturn)) void abort() noexcept {
    session_end(end_how::abort, 128 + SIGABRT, true);
    n().abort();
    __builtin_unreachable();
}

namespace {
int (*program_main)(int, char**, char**) = nullptr;

int main_wrapper(int argc, char** argv, char** envp) {
    session_main_start();
    const int status = program_main(argc, argv, envp);
    session_set_exit_status(status);
    return status;
}
}  // namespace

HK_API int __libc_start_main(int (*main)(int, char**, char**), int argc, char** argv, void (*init)(), void (*fini)(),
                             void (*rtld_fini)(), void* stack_end) noexcept {
    program_main = main;
    return n().libc_start_main(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}
