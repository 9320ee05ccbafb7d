// session: start, fork, exec and end of a process's recording. See session.hpp.
#include "trace/recorder/session.hpp"

#include "trace/encode.hpp"
#include "trace/recorder/append.hpp"
#include "trace/recorder/events.hpp"
#include "trace/recorder/modules.hpp"
#include "trace/recorder/next.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/spinlock.hpp"
#include "trace/recorder/stacks.hpp"
#include "trace/recorder/threads.hpp"
#include "trace/recorder/writer.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <pthread.h>
#include <sys/prctl.h>

namespace heapkit::trace::recorder {

constinit options opts;
constinit std::atomic<phase> session_phase{phase::idle};
long session_pid = 0;
constinit std::atomic<std::uint64_t> global_seq{1};  // seq 0 would read as "no event" in a chunk's first_seq hint
std::uint64_t time_base_ns = 0;

namespace {

constexpr const char* previous_env_name = "HEAPKIT_PROFILE_PREVIOUS_TRACE";
constexpr const char* recorder_name = "heapkit-profile 1";

spinlock prepare_lock;
std::uint64_t start_realtime_ns = 0, start_monotonic_ns = 0;
char output_base[PATH_MAX];        // HEAPKIT_PROFILE_OUTPUT or the default
char trace_path[PATH_MAX];         // this process's file
char parent_trace[PATH_MAX];       // the forking process's file (a fork child)
char previous_trace[PATH_MAX];     // this pid's file before exec
char previous_env[PATH_MAX + 64];  // "HEAPKIT_PROFILE_PREVIOUS_TRACE=<pid>:<trace_path>"
int exit_status = 0;
bool exit_status_known = false;
pthread_key_t thread_key;
bool thread_key_made = false;

void start_clocks() noexcept {
    time_base_ns = coarse_now_ns();
    start_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    start_realtime_ns = clock_ns(CLOCK_REALTIME);
}

std::uint64_t parse_u64(const char* s) noexcept {
    std::uint64_t v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + static_cast<std::uint64_t>(*s++ - '0');
    return v;
}

void read_options() noexcept {
    if (const char* r = ::getenv("HEAPKIT_PROFILE_SAMPLE_RATE"); r != nullptr) opts.sample_rate = parse_u64(r);
    if (const char* f = ::getenv("HEAPKIT_PROFILE_FREE_STACKS"); f != nullptr) opts.free_stacks = *f == '1';
    stacks_choose_unwinder(::getenv("HEAPKIT_PROFILE_UNWINDER"));
    const char* out = ::getenv("HEAPKIT_PROFILE_OUTPUT");
    if (out != nullptr && *out != '\0') {
        put_cstr(output_base, out, sizeof output_base);
    } else {  // heapkit-profile.<program>.<pid>.hkt in the current directory
        char exe[PATH_MAX];
        const long n = ::syscall(SYS_readlink, "/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        const char* prog = std::strrchr(exe, '/');
        prog = prog != nullptr ? prog + 1 : exe;
        char* p = put_cstr(output_base, "heapkit-profile.", sizeof output_base);
        p = put_cstr(p, prog, 200);
        *p++ = '.';
        p = put_decimal(p, static_cast<std::uint64_t>(current_pid()));
        put_cstr(p, ".hkt", 8);
    }
    // The previous image of this pid, when it was recorded: "<pid>:<path>".
    previous_trace[0] = '\0';
    if (const char* prev = ::getenv(previous_env_name); prev != nullptr) {
        const char* colon = std::strchr(prev, ':');
        if (colon != nullptr && parse_u64(prev) == static_cast<std::uint64_t>(current_pid()))
            put_cstr(previous_trace, colon + 1, sizeof previous_trace);
    }
}

// The process record, in a chunk of its own.
void write_process_record() noexcept {
    constexpr std::size_t cap = 256u << 10;
    auto* buf = static_cast<std::uint8_t*>(map_pages(cap));
    auto* args = static_cast<char*>(map_pages(cap));
    if (buf == nullptr || args == nullptr) return;
    char exe[PATH_MAX];
    const long n = ::syscall(SYS_readlink, "/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    long argn = read_small_file("/proc/self/cmdline", args, cap / 2);
    if (argn < 0) argn = 0;
    std::uint64_t argc = 0;
    for (long i = 0; i < argn; ++i)
        if (args[i] == '\0') ++argc;
    if (argn > 0 && args[argn - 1] != '\0') ++argc;  // a truncated last argument
    std::uint8_t* p =
        encoder::process_head(buf, static_cast<std::uint64_t>(current_pid()), static_cast<std::uint64_t>(::getppid()),
                              start_realtime_ns, start_monotonic_ns, std::string_view(exe, std::strlen(exe)), argc);
    for (long i = 0; i < argn;) {
        long j = i;
        while (j < argn && args[j] != '\0') ++j;
        p = encoder::put_string(p, std::string_view(args + i, static_cast<std::size_t>(j - i)));
        i = j + 1;
    }
    p = encoder::process_tail(p, std::string_view(parent_trace, std::strlen(parent_trace)),
                              std::string_view(previous_trace, std::strlen(previous_trace)), opts.sample_rate,
                              static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)), recorder_name);
    writer_write_meta(buf, static_cast<std::size_t>(p - buf));
    unmap_pages(buf, cap);
    unmap_pages(args, cap);
}

void make_previous_env() noexcept {
    char* p = put_cstr(previous_env, previous_env_name, sizeof previous_env);
    *p++ = '=';
    p = put_decimal(p, static_cast<std::uint64_t>(session_pid));
    *p++ = ':';
    put_cstr(p, trace_path, sizeof previous_env - static_cast<std::size_t>(p - previous_env));
}

// Opens this process's file and writes its process record; false: no trace (a message said why).
bool open_trace(bool try_base) noexcept {
    const int fd = writer_open_file(output_base, try_base, session_pid, trace_path, sizeof trace_path);
    if (fd < 0) {
        static const char msg[] =
            "heapkit-profile: cannot create the trace file (HEAPKIT_PROFILE_OUTPUT, or "
            "heapkit-profile.*.hkt in the current directory); recording nothing\n";
        (void)!::write(2, msg, sizeof msg - 1);
        trace_path[0] = '\0';
        return false;
    }
    writer_set_fd(fd);
    write_process_record();
    make_previous_env();
    return true;
}

void thread_key_destructor(void*) {
    const int saved = errno;
    if (session_recording()) end_current_thread();
    errno = saved;
}

// ---- fork ----
void atfork_prepare() {
    modules_lock();
    writer_lock();
    stacks_lock();
    slot_table[shared_slot_id].shared_lock.lock();
}

void atfork_parent() {
    slot_table[shared_slot_id].shared_lock.unlock();
    stacks_unlock();
    writer_unlock();
    modules_unlock();
}

// A fresh trace for this process (a fork child, or after a failed exec): the
// calling thread keeps its slot (emptied), the others are gone.
void restart_trace(bool fork_child) noexcept {
    thread_state& t = tls_state;
    session_pid = current_pid();
    slot* keep = t.ended ? nullptr : t.s;
    if (fork_child) threads_after_fork(keep);  // after a failed exec the other threads still run: their rings go on
    if (fork_child) {
        writer_after_fork();
        stacks_after_fork();
        modules_after_fork();
    } else {
        stacks_invalidate();
    }
    const int old_fd = writer_fd();
    if (old_fd >= 0) ::syscall(SYS_close, old_fd);
    writer_set_fd(-1);
    start_clocks();
    global_seq.store(1, std::memory_order_relaxed);
    if (!open_trace(false)) {
        session_phase.store(phase::ended, std::memory_order_release);
        return;
    }
    session_phase.store(phase::open, std::memory_order_release);
    ++t.recording;
    if (keep != nullptr) {
        char name[17] = {};
        ::prctl(PR_GET_NAME, name, 0, 0, 0);
        const std::string_view n(name, std::strlen(name));
        append_event(*keep, small_record_max + n.size() + max_varint_bytes,
                     [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time) {
                         return e.thread_start(p, seq, time, keep->id, static_cast<std::uint64_t>(current_tid()), n);
                     });
    }
    if (slot* s = current_slot(); s != nullptr) {
        modules_scan(*s, true);
        release_slot(s);
    }
    --t.recording;
}

void atfork_child() {
    slot_table[shared_slot_id].shared_lock.reset();
    const int saved = errno;
    if (session_recording()) {
        put_cstr(parent_trace, trace_path, sizeof parent_trace);
        previous_trace[0] = '\0';
        restart_trace(true);
    } else {
        writer_after_fork();
        stacks_after_fork();
        modules_after_fork();
    }
    errno = saved;
}

}  // namespace

void session_prepare() noexcept {
    lock_guard g(prepare_lock);
    if (session_phase.load(std::memory_order_relaxed) != phase::idle) return;
    session_pid = current_pid();
    start_clocks();
    stacks_init();
    session_phase.store(phase::prepared, std::memory_order_release);
    thread_state& t = tls_state;
    ++t.recording;
    if (slot* s = current_slot(); s != nullptr) {
        modules_scan(*s, true);
        release_slot(s);
    }
    --t.recording;
}

void session_open() noexcept {
    static bool done = false;
    if (done) return;
    done = true;
    const int saved = errno;
    thread_state& t = tls_state;
    if (session_phase.load(std::memory_order_acquire) == phase::idle) session_prepare();
    ++t.internal;
    read_options();
    ::pthread_key_create(&thread_key, thread_key_destructor);
    thread_key_made = true;
    ::pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    --t.internal;
    if (!open_trace(true)) {
        session_phase.store(phase::ended, std::memory_order_release);
        errno = saved;
        return;
    }
    session_phase.store(phase::open, std::memory_order_release);
    drain_round();  // what was recorded before the constructor
    writer_start();
    errno = saved;
}

void session_thread_started() noexcept {
    if (!thread_key_made) return;  // threads before the constructor: no thread_end for them
    thread_state& t = tls_state;
    ++t.internal;
    ::pthread_setspecific(thread_key, reinterpret_cast<void*>(1));
    --t.internal;
}

void session_main_start() noexcept {
    if (should_record()) record_main_start();
}

void session_set_exit_status(int status) noexcept {
    exit_status = status;
    exit_status_known = true;
}

void session_end(end_how how, int status, bool status_known) noexcept {
    static spinlock end_lock;
    lock_guard g(end_lock);
    if (current_pid() != session_pid) return;  // a vfork child
    phase p = session_phase.load(std::memory_order_acquire);
    if (p == phase::prepared) {
        // ended before the constructor ran (or the file could not be made): nothing to write to
        session_phase.store(phase::ended, std::memory_order_release);
        return;
    }
    if (p != phase::open) return;
    session_phase.store(phase::ended, std::memory_order_release);
    const int saved = errno;
    writer_stop();
    if (how == end_how::exit && !status_known && exit_status_known) {
        status = exit_status;
        status_known = true;
    }
    drain_round(static_cast<int>(how) + 1, status_known ? status : 0);
    errno = saved;
}

void session_before_exec(const char* path) noexcept {
    if (!session_recording() || current_pid() != session_pid) return;
    if (should_record()) record_exec(path);
    session_end(end_how::exec, 0, false);
}

void session_exec_failed() noexcept {
    if (current_pid() != session_pid || trace_path[0] == '\0') return;
    if (session_phase.load(std::memory_order_acquire) != phase::ended) return;
    put_cstr(previous_trace, trace_path, sizeof previous_trace);
    parent_trace[0] = '\0';
    restart_trace(false);
}

void session_forked_parent(long child_pid) noexcept {
    if (!should_record()) return;
    char name[PATH_MAX + 32];
    char* p = put_cstr(name, output_base, PATH_MAX);
    *p++ = '.';
    put_decimal(p, static_cast<std::uint64_t>(child_pid));
    record_fork(child_pid, name);
}

void session_modules_changed() noexcept {
    if (!should_record()) return;
    thread_state& t = tls_state;
    const int saved = errno;
    ++t.recording;
    ensure_prepared();
    if (slot* s = current_slot(); s != nullptr) {
        const bool unloaded = modules_scan(*s, false);
        release_slot(s);
        if (unloaded) stacks_invalidate();
    }
    --t.recording;
    errno = saved;
}

const char* session_trace_path() noexcept { return trace_path; }
const char* session_previous_env() noexcept { return previous_env; }

// The end of a normal exit (after the program's atexit handlers and static destructors,
// among the libraries' destructors), and the start at load time.
__attribute__((constructor(101))) void recorder_constructor() { session_open(); }
__attribute__((destructor(101))) void recorder_destructor() { session_end(end_how::exit, 0, false); }

}  // namespace heapkit::trace::recorder
