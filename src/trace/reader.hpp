// reader: streams the events of one trace file (format.hpp) in sequence
// order, with its metadata (process, stacks, modules, threads) beside them.
//
//   trace::reader r;
//   if (!r.open("prog.hkt")) { print(r.error().describe()); }
//   trace::event e;
//   while (r.next(e)) { ... }             // seq order across all threads
//   if (r.error()) { ... }                 // damage: offset and reason; what came before was delivered
//   r.process(), r.stack(id), r.modules(), r.threads()
//
// Memory: the reader holds the decoded events of one writer round (the
// events read since the events below the latest watermark were released),
// one chunk's bytes, and the metadata (one entry per distinct stack node,
// module and thread): never the whole trace. A trace without watermarks is
// held whole until its end (held_events() tells how much is held).
//
// Merge: a chunk's events are in seq order (one thread wrote them), so each
// chunk decodes into a sorted run; a min-heap of runs keyed by their next
// event's seq yields the smallest held event. It is released once its seq is
// below the latest watermark (every smaller event has been read), or at the
// end of the input (complete, truncated or damaged). When the events to
// release have dense seqs (one process-wide counter gives them), they are
// placed by seq in one array instead, which costs one step per event. An
// event read after a watermark W with a seq below W breaks the watermark's
// promise: that is damage (an error naming the seq and the watermark).
//
// Versions: a file of another major version is refused by open(). A record
// kind this reader does not know is skipped when it is a sized kind
// (>= first_sized_kind, format.hpp); below that it stops with an error that
// names the kind, since its length is unknown.
// It never reads past its input, never trusts a length before checking it,
// and on damage stops with an error naming the byte offset; events decoded
// before the damage have been (or will be) delivered by next().
#pragma once

#include "trace/format.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace heapkit::trace {

// One event, decoded. Fields that the kind does not carry are 0 / empty.
struct event {
    record kind = record::alloc;  // one of the event kinds (alloc .. end)
    op operation = op::malloc;    // alloc, free, realloc
    std::uint64_t seq = 0;        // process-wide order
    std::uint64_t time_ns = 0;    // since the process started
    std::uint32_t thread = 0;     // recorder thread slot (the chunk's; thread_start/end: the record's slot)
    std::uint64_t addr = 0;       // alloc: the block (0: failed); free: the block; realloc: the old block;
                                  // mmap/munmap/mremap: the (old) mapping
    std::uint64_t new_addr = 0;   // realloc, mremap: the result (0: failed, or freed by realloc(p, 0))
    std::uint64_t size = 0;       // alloc, realloc: requested bytes; free: the size given (sized ops);
                                  // mmap/munmap: length; mremap: new length; rss: resident bytes
    std::uint64_t old_size = 0;   // mremap: old length; rss: virtual bytes
    std::uint64_t align = 0;      // aligned ops: the alignment asked for
    std::uint64_t stack = 0;      // stack_node id, 0 = none
    std::int64_t value = 0;       // mmap: prot; fork: child pid; thread_start: tid; thread_end: slot;
                                  // end: status; module_load/unload: module id (module_load: addr = base,
                                  // text = path; its build id and segments are in modules())
    std::uint64_t flags = 0;      // mmap: flags; end: end_how
    std::int64_t fd = -1;         // mmap: fd
    std::string text;             // fork: child trace; exec: path; thread_start: name
};

struct process_info {
    std::uint64_t pid = 0, ppid = 0;
    std::uint64_t start_realtime_ns = 0, start_monotonic_ns = 0;
    std::string exe;
    std::vector<std::string> argv;
    std::string parent_trace;    // the trace of the process that forked this one, or empty
    std::string previous_trace;  // the trace of this pid before it called exec, or empty
    std::uint64_t sample_rate = 0;  // 0: every event recorded
    std::uint64_t page_size = 0;
    std::string recorder;        // recorder name and version
};

struct stack_node {
    std::uint64_t parent = 0;  // 0: outermost frame
    std::uint64_t ip = 0;      // a return address (the caller's next instruction) or, for the
                               // innermost frame of a signal frame, the faulting pc
};

struct module_segment {
    std::uint64_t start = 0, size = 0;  // runtime addresses
    std::uint32_t flags = 0;            // PF_X=1 PF_W=2 PF_R=4
};

struct module_info {
    std::uint64_t id = 0;
    std::uint64_t base = 0;  // load bias: runtime address - ELF virtual address
    std::string path;
    std::vector<std::uint8_t> build_id;
    std::vector<module_segment> segments;
    std::uint64_t load_seq = 0;
    std::uint64_t unload_seq = UINT64_MAX;  // UINT64_MAX: never unloaded
};

struct thread_info {
    std::uint32_t slot = 0;
    std::uint64_t tid = 0;
    std::string name;
    std::uint64_t start_seq = 0, end_seq = UINT64_MAX;
};

// What went wrong, where: "prog.hkt: offset 81234: chunk payload CRC mismatch (stored 0x.., computed 0x..)".
struct read_error {
    std::string path;
    std::uint64_t offset = 0;
    std::string reason;
    std::string describe() const;
};

class reader {
public:
    reader();
    ~reader();
    reader(reader&&) noexcept;
    reader& operator=(reader&&) noexcept;

    // Opens a file and reads its header, then chunks until the process record
    // (the recorder writes it first) or the first watermark. false: the file
    // cannot be read or is not a trace of this major version (error() says
    // why). Damage after the header is not a failure of open(): error() is
    // set when the damage is read, and next() still delivers every event
    // decoded before it, then returns false.
    bool open(const std::string& path);
    // Reads from memory (the fuzz target); `data` must outlive the reader.
    bool open_memory(const std::uint8_t* data, std::size_t size, const std::string& name = "<memory>");

    // The next event in seq order; false at the end or at damage (then error() is set).
    bool next(event& e);

    // Set after damage, truncation or an unknown major version; the events
    // before it were delivered.
    const std::optional<read_error>& error() const;
    // True once the trace's `end` record was read (a complete trace).
    bool complete() const;

    const process_info& process() const;  // valid once open() returned true (empty if the trace has none)
    // Metadata as read so far (all of it once next() returned false).
    const stack_node* stack(std::uint64_t id) const;  // nullptr: unknown id
    std::size_t stack_count() const;
    const std::vector<module_info>& modules() const;
    const std::vector<thread_info>& threads() const;
    std::uint64_t lost_events() const;  // from `lost` records
    std::uint64_t bytes_read() const;   // input consumed: the header and the chunks read so far

    // Events decoded but not yet delivered, now and at most so far: what the
    // watermarks bound (tests assert it stays within one writer round).
    std::size_t held_events() const;
    std::size_t peak_held_events() const;

private:
    struct state;
    std::unique_ptr<state> s_;
};

}  // namespace heapkit::trace
