// trace_dump: prints a trace as text, one event a line, for the recorder's
// tests (and for a person debugging them):
//   trace_dump FILE           summary + events
//   trace_dump --summary FILE counts only
// Lines: "<seq> <thread> <kind> ..." with the op's name for heap events and
// the stack's frames as hex return addresses (innermost first) after "@".
#include "trace/reader.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

using namespace heapkit::trace;

namespace {

const char* kind_name(record k) {
    switch (k) {
        case record::alloc:
            return "alloc";
        case record::free:
            return "free";
        case record::realloc:
            return "realloc";
        case record::mmap:
            return "mmap";
        case record::munmap:
            return "munmap";
        case record::mremap:
            return "mremap";
        case record::rss:
            return "rss";
        case record::main_start:
            return "main_start";
        case record::fork:
            return "fork";
        case record::exec:
            return "exec";
        case record::thread_start:
            return "thread_start";
        case record::thread_end:
            return "thread_end";
        case record::module_load:
            return "module_load";
        case record::module_unload:
            return "module_unload";
        case record::end:
            return "end";
        default:
            return "?";
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool summary = false;
    int i = 1;
    if (i < argc && std::strcmp(argv[i], "--summary") == 0) {
        summary = true;
        ++i;
    }
    if (i >= argc) {
        std::fprintf(stderr, "usage: trace_dump [--summary] FILE\n");
        return 2;
    }
    reader r;
    if (!r.open(argv[i])) {
        std::fprintf(stderr, "trace_dump: %s\n", r.error() ? r.error()->describe().c_str() : "cannot open");
        return 1;
    }
    const process_info& p = r.process();
    std::printf("process pid=%" PRIu64 " ppid=%" PRIu64 " exe=%s argc=%zu parent=%s previous=%s sample_rate=%" PRIu64
                " recorder=%s\n",
                p.pid, p.ppid, p.exe.c_str(), p.argv.size(), p.parent_trace.c_str(), p.previous_trace.c_str(),
                p.sample_rate, p.recorder.c_str());
    event e;
    std::uint64_t events = 0, allocs = 0, frees = 0, reallocs = 0, bytes = 0;
    while (r.next(e)) {
        ++events;
        if (e.kind == record::alloc) ++allocs, bytes += e.size;
        if (e.kind == record::free) ++frees;
        if (e.kind == record::realloc) ++reallocs;
        if (summary) continue;
        std::printf("%" PRIu64 " t%u %s", e.seq, e.thread, kind_name(e.kind));
        if (e.kind == record::alloc || e.kind == record::free || e.kind == record::realloc)
            std::printf(" %.*s", static_cast<int>(op_name(e.operation).size()), op_name(e.operation).data());
        std::printf(" addr=0x%" PRIx64 " new=0x%" PRIx64 " size=%" PRIu64 " align=%" PRIu64 " value=%" PRId64
                    " flags=%" PRIu64,
                    e.addr, e.new_addr, e.size, e.align, e.value, e.flags);
        if (!e.text.empty()) std::printf(" text=%s", e.text.c_str());
        if (e.stack != 0) {
            std::printf(" @");
            for (std::uint64_t id = e.stack; id != 0;) {
                const stack_node* n = r.stack(id);
                if (n == nullptr) {
                    std::printf(" ?%" PRIu64, id);
                    break;
                }
                std::printf(" %" PRIx64, n->ip);
                id = n->parent;
            }
        }
        std::printf("\n");
    }
    std::printf("summary events=%" PRIu64 " allocs=%" PRIu64 " frees=%" PRIu64 " reallocs=%" PRIu64
                " alloc_bytes=%" PRIu64 " stacks=%zu modules=%zu threads=%zu lost=%" PRIu64 " complete=%d error=%s\n",
                events, allocs, frees, reallocs, bytes, r.stack_count(), r.modules().size(), r.threads().size(),
                r.lost_events(), r.complete() ? 1 : 0, r.error() ? r.error()->describe().c_str() : "none");
    return r.error() ? 1 : 0;
}
