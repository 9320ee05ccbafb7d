// session: one process's recording, from its first event to its end record,
// and what happens to it at fork, exec and exit.
//
//   first event ──► session_prepare(): start times, modules announced, libunwind set up
//   constructor ──► session_open(): options from the environment, the trace file
//                   (header + process record), the writer thread, pthread_atfork
//   fork ─────────► parent: fork record naming the child's trace; child: session_reset()
//                   (new file with parent_trace, its slot emptied, others freed)
//   exec* ────────► exec + end(how=exec) records, drained synchronously; the new image's
//                   recorder finds previous_trace in HEAPKIT_PROFILE_PREVIOUS_TRACE
//                   (pid-prefixed); a failed exec starts a new trace (previous_trace set)
//   exit/_exit/abort/destructor ──► end record (exit, exit_now, abort), drained
//
// After the end record nothing more is recorded: later calls (destructors of
// libraries finalised after the recorder, threads still running) are
// forwarded unrecorded. A vfork child (getpid() differs from the pid the
// session knows) records nothing and never writes into the parent's rings.
//
// Options (environment): HEAPKIT_PROFILE_OUTPUT=PATH (the first process's
// trace; default heapkit-profile.<program>.<pid>.hkt in the current
// directory), HEAPKIT_PROFILE_SAMPLE_RATE=BYTES (0: every allocation),
// HEAPKIT_PROFILE_FREE_STACKS=1 (frees carry their stack).
#pragma once

#include "trace/format.hpp"

#include <atomic>
#include <climits>
#include <cstdint>

namespace heapkit::trace::recorder {

struct options {
    std::uint64_t sample_rate = 0;  // bytes between samples on average; 0: record every allocation
    bool free_stacks = false;       // frees unwind too
};
extern options opts;

// 0: nothing yet; 1: prepared (events buffer in rings); 2: open (a file, a writer);
// 3: ended (no more events).
enum class phase : int { idle = 0, prepared = 1, open = 2, ended = 3 };
extern std::atomic<phase> session_phase;
extern long session_pid;  // the process the session belongs to (a vfork child differs)

// Whether an interposed call may record now (cheap; the slow checks are in session_prepare).
inline bool session_recording() noexcept {
    const phase p = session_phase.load(std::memory_order_relaxed);
    return p == phase::prepared || p == phase::open;
}

void session_prepare() noexcept;  // at the first event (idempotent)
void session_open() noexcept;     // from the constructor (idempotent)
void session_thread_started() noexcept;

// The interposers of process events.
void session_main_start() noexcept;
void session_set_exit_status(int status) noexcept;
void session_end(end_how how, int status, bool status_known) noexcept;
void session_before_exec(const char* path) noexcept;
void session_exec_failed() noexcept;
void session_forked_parent(long child_pid) noexcept;
void session_modules_changed() noexcept;  // after dlopen/dlclose

// The trace file of this process ("" before session_open), and the environment
// entry the next image reads ("HEAPKIT_PROFILE_PREVIOUS_TRACE=<pid>:<path>").
const char* session_trace_path() noexcept;
const char* session_previous_env() noexcept;

}  // namespace heapkit::trace::recorder
