// reader: see reader.hpp. The pieces, in the order data flows through them:
//
//   input      a file read with pread (one chunk's payload at a time) or a
//              caller's memory; `offset` is where the next chunk starts.
//   frame      read_chunk(): checks a chunk header (magic, CRC, codec,
//              sizes against max_chunk_bytes and the input left), the payload
//              CRC, and decompresses exactly raw_size bytes.
//   decode     decode(): every record of the chunk, each field bounds-checked
//              (a varint never read past the chunk, lengths and counts checked
//              against the bytes left). Events go to a run (a chunk's events,
//              in seq order); metadata goes to the tables at once.
//   merge      a min-heap of runs keyed by (next event's seq, run serial);
//              next() takes the smallest event once its seq is below the
//              latest watermark or the input has ended.
//
// Invariants: every held event was decoded from a chunk whose framing
// checked out; the events of one run never decrease in seq (checked while
// decoding: the seq delta is unsigned and must not wrap); no event read
// after a watermark W has seq < W (checked: the watermark promised it); so
// the heap's smallest event, once below the watermark, is the smallest event
// not yet delivered in the whole trace. After damage no further chunk is
// read; what was held is delivered in order and next() then returns false.
#include "trace/reader.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <zstd.h>

namespace heapkit::trace {

static_assert(std::endian::native == std::endian::little, "the trace format is little-endian; so is this reader");

std::string read_error::describe() const { return path + ": offset " + std::to_string(offset) + ": " + reason; }

namespace {

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    return buf;
}

const char* kind_name(std::uint8_t k) {
    switch (static_cast<record>(k)) {
    case record::alloc: return "alloc";
    case record::free: return "free";
    case record::realloc: return "realloc";
    case record::mmap: return "mmap";
    case record::munmap: return "munmap";
    case record::mremap: return "mremap";
    case record::rss: return "rss";
    case record::main_start: return "main_start";
    case record::fork: return "fork";
    case record::exec: return "exec";
    case record::thread_start: return "thread_start";
    case record::thread_end: return "thread_end";
    case record::module_load: return "module_load";
    case record::module_unload: return "module_unload";
    case record::end: return "end";
    case record::process: return "process";
    case record::stack_node: return "stack_node";
    case record::watermark: return "watermark";
    case record::lost: return "lost";
    }
    return "unknown";
}

// An event between decoding and delivery: trace::event without its text,
// which lives in the run's `texts` (text = index + 1; 0: none).
struct held {
    std::uint64_t seq, time, addr, new_addr, size, old_size, align, stack;
    std::int64_t value;
    std::uint64_t flags;
    std::int64_t fd;
    std::uint32_t thread, text;
    record kind;
    op operation;
};

// The events of one chunk, in seq order (non-decreasing).
struct run {
    std::vector<held> events;
    std::vector<std::string> texts;
    std::size_t next = 0;      // events[next] is the first not delivered; < events.size() while in the heap
    std::uint64_t serial = 0;  // the order runs were read in: equal seqs come out in file order
};

bool run_before(const run* a, const run* b) {
    const std::uint64_t sa = a->events[a->next].seq, sb = b->events[b->next].seq;
    return sa < sb || (sa == sb && a->serial < b->serial);
}

// A bounds-checked view of one chunk's records. A failed read leaves `what`
// naming the field.
struct cursor {
    const std::uint8_t* p;
    const std::uint8_t* end;
    const char* what = nullptr;

    bool v(std::uint64_t& x, const char* field) {
        if (p < end && *p < 0x80) [[likely]] {
            x = *p++;
            return true;
        }
        if (get_varint(p, end, x)) return true;
        what = field;
        return false;
    }
    bool z(std::int64_t& x, const char* field) {
        std::uint64_t u;
        if (!v(u, field)) return false;
        x = unzigzag(u);
        return true;
    }
    bool u8(std::uint8_t& x, const char* field) {
        if (p < end) [[likely]] {
            x = *p++;
            return true;
        }
        what = field;
        return false;
    }
    // A varint length and that many bytes, all inside the chunk.
    bool bytes(std::string_view& s, const char* field) {
        std::uint64_t n;
        if (!v(n, field)) return false;
        if (n > static_cast<std::uint64_t>(end - p)) {
            what = field;
            return false;
        }
        s = {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
        p += n;
        return true;
    }
};

struct stack_slot {
    stack_node node;
    bool present = false;
};

}  // namespace

struct reader::state {
    // ---- input ----
    std::string path;
    int fd = -1;                            // the file, or -1 for memory input
    const std::uint8_t* memory = nullptr;   // open_memory's bytes
    std::uint64_t size = 0;                 // bytes of input
    std::uint64_t offset = 0;               // the next chunk starts here (<= size); all before it was read
    std::unique_ptr<std::uint8_t[]> stored; // a file chunk's payload (capacity stored_cap)
    std::size_t stored_cap = 0;
    std::unique_ptr<std::uint8_t[]> raw;    // a zstd chunk decompressed (capacity raw_cap)
    std::size_t raw_cap = 0;
    ZSTD_DCtx* dctx = nullptr;
    bool input_done = false;                // end of input or damage: no further chunk is read

    // ---- merge ----
    std::vector<run*> heap;                  // min-heap by run_before; every run has an event left
    std::vector<std::unique_ptr<run>> runs;  // owns every run
    std::vector<run*> spare;                 // emptied runs, to reuse
    std::uint64_t watermark = 0;             // the largest watermark read: events below it were all read
    bool saw_watermark = false;
    std::uint64_t serial = 0;
    std::size_t held_count = 0, peak_held = 0;  // events in runs not yet delivered

    // ---- metadata ----
    process_info process;
    bool have_process = false;
    std::vector<stack_slot> stacks;                       // dense ids
    std::unordered_map<std::uint64_t, stack_node> sparse; // ids far beyond the dense range
    std::size_t stack_count = 0;
    std::vector<module_info> modules;
    std::vector<thread_info> threads;
    std::uint64_t lost = 0;
    std::optional<read_error> error;
    bool complete = false;

    ~state() {
        if (fd >= 0) ::close(fd);
        ZSTD_freeDCtx(dctx);
    }

    void fail(std::uint64_t at, std::string reason) {
        if (!error) error = read_error{path, at, std::move(reason)};
        input_done = true;
    }

    bool start();
    bool read_at(std::uint64_t at, void* to, std::size_t n);
    void read_chunk();
    void decode(const std::uint8_t* begin, const std::uint8_t* end, std::uint32_t thread, std::uint64_t chunk_at);
    bool decode_record(cursor& c, std::uint8_t kind, std::uint32_t thread, run*& r, std::uint64_t (&delta)[3],
                       std::string& detail);
    run* take_run();
    void push_run(run* r);
    void pop_top();
    void sift_down(std::size_t i);
    void add_stack(std::uint64_t id, std::uint64_t parent, std::uint64_t ip);
};

// ---- input and framing ----

bool reader::state::read_at(std::uint64_t at, void* to, std::size_t n) {
    if (memory != nullptr) {
        std::memcpy(to, memory + at, n);
        return true;
    }
    auto* b = static_cast<std::uint8_t*>(to);
    while (n > 0) {
        const ssize_t got = ::pread(fd, b, n, static_cast<off_t>(at));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            fail(at, printf_string("read failed: %s", std::strerror(errno)));
            return false;
        }
        if (got == 0) {
            fail(at, "the file became shorter while it was read (truncated by another process?)");
            return false;
        }
        b += got;
        at += static_cast<std::uint64_t>(got);
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

bool reader::state::start() {
    file_header h{};
    if (size < sizeof h) {
        fail(0, printf_string("too short for a heapkit trace: %llu bytes, the file header alone is %zu",
                              static_cast<unsigned long long>(size), sizeof h));
        return false;
    }
    if (!read_at(0, &h, sizeof h)) return false;
    if (std::memcmp(h.magic, file_magic, sizeof h.magic) != 0) {
        fail(0, "not a heapkit trace (the file does not start with \"HKTRACE\\0\")");
        return false;
    }
    if (h.version_major != version_major) {
        fail(8, printf_string("trace format version %u.%u: this reader reads version %u.x only; read it with "
                              "the heapkit that recorded it",
                              h.version_major, h.version_minor, version_major));
        return false;
    }
    offset = sizeof h;
    // The process record comes first (process() is valid after open()).
    while (!input_done && !have_process && !saw_watermark) read_chunk();
    return true;
}

void reader::state::read_chunk() {
    const std::uint64_t at = offset;
    const std::uint64_t left = size - at;
    if (left == 0) {
        input_done = true;
        return;
    }
    chunk_header h{};
    if (left < sizeof h) {
        fail(at, printf_string("truncated chunk header: the input ends %llu bytes into it (a header is %zu bytes)",
                               static_cast<unsigned long long>(left), sizeof h));
        return;
    }
    if (!read_at(at, &h, sizeof h)) return;
    if (h.magic != chunk_magic) {
        fail(at, printf_string("no chunk starts here: magic 0x%08x, expected 0x%08x (\"HKCK\")", h.magic,
                               chunk_magic));
        return;
    }
    const std::uint32_t header_crc =
        crc32({reinterpret_cast<const std::uint8_t*>(&h), offsetof(chunk_header, header_crc)});
    if (header_crc != h.header_crc) {
        fail(at, printf_string("chunk header CRC mismatch (stored 0x%08x, computed 0x%08x)", h.header_crc,
                               header_crc));
        return;
    }
    if (h.codec != static_cast<std::uint8_t>(codec::none) && h.codec != static_cast<std::uint8_t>(codec::zstd)) {
        fail(at, printf_string("unknown chunk codec %u (this reader knows 0 = none and 1 = zstd)", h.codec));
        return;
    }
    if (h.stored_size > max_chunk_bytes || h.raw_size > max_chunk_bytes) {
        fail(at, printf_string("chunk sizes out of range: stored %u, raw %u bytes (the limit is %u)", h.stored_size,
                               h.raw_size, max_chunk_bytes));
        return;
    }
    if (h.codec == static_cast<std::uint8_t>(codec::none) && h.raw_size != h.stored_size) {
        fail(at, printf_string("uncompressed chunk with raw size %u != stored size %u", h.raw_size, h.stored_size));
        return;
    }
    if (h.stored_size > left - sizeof h) {
        fail(at, printf_string("chunk truncated: its header announces %u payload bytes, the input ends after %llu",
                               h.stored_size, static_cast<unsigned long long>(left - sizeof h)));
        return;
    }
    const std::uint8_t* payload;
    if (memory != nullptr) {
        payload = memory + at + sizeof h;
    } else {
        if (stored_cap < h.stored_size) {
            stored_cap = std::max<std::size_t>(h.stored_size, stored_cap * 2);
            stored.reset(new std::uint8_t[stored_cap]);
        }
        if (!read_at(at + sizeof h, stored.get(), h.stored_size)) return;
        payload = stored.get();
    }
    const std::uint32_t payload_crc = crc32({payload, h.stored_size});
    if (payload_crc != h.payload_crc) {
        fail(at, printf_string("chunk payload CRC mismatch (stored 0x%08x, computed 0x%08x)", h.payload_crc,
                               payload_crc));
        return;
    }
    const std::uint8_t* records = payload;
    if (h.codec == static_cast<std::uint8_t>(codec::zstd)) {
        if (raw_cap < h.raw_size) {
            raw_cap = std::max<std::size_t>(h.raw_size, raw_cap * 2);
            raw.reset(new std::uint8_t[raw_cap]);
        }
        if (dctx == nullptr) dctx = ZSTD_createDCtx();
        const std::size_t n = ZSTD_decompressDCtx(dctx, raw.get(), h.raw_size, payload, h.stored_size);
        if (ZSTD_isError(n)) {
            fail(at, printf_string("chunk payload does not decompress to its raw size %u: zstd: %s", h.raw_size,
                                   ZSTD_getErrorName(n)));
            return;
        }
        if (n != h.raw_size) {
            fail(at, printf_string("chunk payload decompresses to %zu bytes, its header says %u", n, h.raw_size));
            return;
        }
        records = raw.get();
    }
    offset = at + sizeof h + h.stored_size;
    decode(records, records + h.raw_size, h.thread, at);
}

// ---- decoding ----

void reader::state::decode(const std::uint8_t* begin, const std::uint8_t* end, std::uint32_t thread,
                           std::uint64_t chunk_at) {
    run* r = nullptr;                 // this chunk's events, taken at the first event
    std::uint64_t delta[3] = {0, 0, 0};  // seq, time, addr: the chunk's delta state
    std::string detail;
    cursor c{begin, end};
    while (c.p < end) {
        const std::uint8_t* rec = c.p;
        const std::uint8_t kind = *c.p++;
        if (decode_record(c, kind, thread, r, delta, detail)) [[likely]]
            continue;
        const auto at_byte = static_cast<unsigned long long>(rec - begin);
        if (!detail.empty()) {
            fail(chunk_at, printf_string("record %s at byte %llu of the chunk's records (thread %u): %s",
                                         kind_name(kind), at_byte, thread, detail.c_str()));
        } else if (c.what == nullptr) {
            fail(chunk_at, printf_string("unknown record kind 0x%02x at byte %llu of the chunk's records (thread "
                                         "%u): written by a newer format (this reader knows version %u.%u); kinds "
                                         "below 0x%02x cannot be skipped",
                                         kind, at_byte, thread, version_major, version_minor, first_sized_kind));
        } else {
            fail(chunk_at, printf_string("record %s at byte %llu of the chunk's records (thread %u): field %s runs "
                                         "past the end of the chunk or is malformed",
                                         kind_name(kind), at_byte, thread, c.what));
        }
        break;
    }
    if (r != nullptr) {
        if (r->events.empty())
            spare.push_back(r);
        else
            push_run(r);
    }
}

// One record after its kind byte. false: damage; c.what names the field, or
// `detail` says what is wrong, or neither (an unknown kind).
bool reader::state::decode_record(cursor& c, std::uint8_t kind, std::uint32_t thread, run*& r,
                                  std::uint64_t (&delta)[3], std::string& detail) {
    std::uint64_t& seq = delta[0];
    std::uint64_t& time = delta[1];
    std::uint64_t& addr = delta[2];

    // Metadata first: no seq, no run.
    if (kind >= static_cast<std::uint8_t>(record::process)) {
        switch (static_cast<record>(kind)) {
        case record::stack_node: {
            std::uint64_t id, parent, ip;
            if (!(c.v(id, "id") && c.v(parent, "parent") && c.v(ip, "ip"))) return false;
            add_stack(id, parent, ip);
            return true;
        }
        case record::watermark: {
            std::uint64_t w;
            if (!c.v(w, "seq")) return false;
            if (w > watermark) watermark = w;
            saw_watermark = true;
            return true;
        }
        case record::lost: {
            std::uint64_t n;
            if (!c.v(n, "count")) return false;
            lost = n > UINT64_MAX - lost ? UINT64_MAX : lost + n;
            return true;
        }
        case record::process: {
            process_info p;
            std::string_view s;
            std::uint64_t argc;
            if (!(c.v(p.pid, "pid") && c.v(p.ppid, "ppid") && c.v(p.start_realtime_ns, "start_realtime_ns") &&
                  c.v(p.start_monotonic_ns, "start_monotonic_ns") && c.bytes(s, "exe")))
                return false;
            p.exe = s;
            if (!c.v(argc, "argc")) return false;
            if (argc > static_cast<std::uint64_t>(c.end - c.p)) {  // each argument takes a byte at least
                c.what = "argc";
                return false;
            }
            p.argv.reserve(argc);
            for (std::uint64_t i = 0; i < argc; ++i) {
                if (!c.bytes(s, "arg")) return false;
                p.argv.emplace_back(s);
            }
            if (!c.bytes(s, "parent_trace")) return false;
            p.parent_trace = s;
            if (!c.bytes(s, "previous_trace")) return false;
            p.previous_trace = s;
            if (!(c.v(p.sample_rate, "sample_rate") && c.v(p.page_size, "page_size") && c.bytes(s, "recorder")))
                return false;
            p.recorder = s;
            if (!have_process) {
                process = std::move(p);
                have_process = true;
            }
            return true;
        }
        default:
            if (kind >= first_sized_kind) {  // a later minor version's record: skip it
                std::string_view skipped;
                return c.bytes(skipped, "length");
            }
            return false;  // unknown, and no length to skip by
        }
    }
    if (kind < static_cast<std::uint8_t>(record::alloc) || kind > static_cast<std::uint8_t>(record::end))
        return false;

    // An event.
    if (r == nullptr) r = take_run();
    held& h = r->events.emplace_back();
    h = held{};
    h.fd = -1;
    h.thread = thread;
    h.kind = static_cast<record>(kind);
    const auto undo = [&] {
        r->events.pop_back();
        return false;
    };
    const auto get_op = [&] {
        std::uint8_t o;
        if (!c.u8(o, "op")) return false;
        if (o >= static_cast<std::uint8_t>(op::count_)) {
            detail = printf_string("op %u is not an interposed function (ops are 0..%u)", o,
                                   static_cast<unsigned>(op::count_) - 1);
            return false;
        }
        h.operation = static_cast<op>(o);
        return true;
    };
    const auto get_seq_time = [&] {
        std::uint64_t ds, dt;
        if (!(c.v(ds, "seq") && c.v(dt, "time"))) return false;
        if (ds > UINT64_MAX - seq) {
            detail = printf_string("seq %llu + delta %llu overflows 64 bits", static_cast<unsigned long long>(seq),
                                   static_cast<unsigned long long>(ds));
            return false;
        }
        seq += ds;
        time += static_cast<std::uint64_t>(unzigzag(dt));
        if (seq < watermark) [[unlikely]] {
            detail = printf_string("event seq %llu comes after watermark %llu, which promised that every event "
                                   "below it had been written (a recorder bug)",
                                   static_cast<unsigned long long>(seq), static_cast<unsigned long long>(watermark));
            return false;
        }
        h.seq = seq;
        h.time = time;
        return true;
    };
    const auto get_addr = [&](std::uint64_t& to, const char* field) {
        std::uint64_t d;
        if (!c.v(d, field)) return false;
        addr += static_cast<std::uint64_t>(unzigzag(d));
        to = addr;
        return true;
    };
    const auto get_text = [&](const char* field) {
        std::string_view s;
        if (!c.bytes(s, field)) return false;
        r->texts.emplace_back(s);
        h.text = static_cast<std::uint32_t>(r->texts.size());
        return true;
    };
    const auto get_slot = [&](std::uint32_t& to) {
        std::uint64_t v;
        if (!c.v(v, "slot")) return false;
        if (v > UINT32_MAX) {
            detail = printf_string("thread slot %llu does not fit 32 bits", static_cast<unsigned long long>(v));
            return false;
        }
        to = static_cast<std::uint32_t>(v);
        return true;
    };

    bool ok;
    switch (static_cast<record>(kind)) {
    case record::alloc:
        ok = get_op() && get_seq_time() && get_addr(h.addr, "addr") && c.v(h.size, "size") &&
             (!op_has_align(h.operation) || c.v(h.align, "align")) && c.v(h.stack, "stack");
        break;
    case record::free:
        ok = get_op() && get_seq_time() && get_addr(h.addr, "addr") &&
             (!op_has_size(h.operation) || c.v(h.size, "size")) &&
             (!op_has_align(h.operation) || c.v(h.align, "align")) && c.v(h.stack, "stack");
        break;
    case record::realloc:
        ok = get_op() && get_seq_time() && get_addr(h.addr, "old_addr") && get_addr(h.new_addr, "new_addr") &&
             c.v(h.size, "size") && c.v(h.stack, "stack");
        break;
    case record::mmap: {
        std::uint64_t prot;
        ok = get_seq_time() && get_addr(h.addr, "addr") && c.v(h.size, "length") && c.v(prot, "prot") &&
             c.v(h.flags, "flags") && c.z(h.fd, "fd") && c.v(h.stack, "stack");
        h.value = static_cast<std::int64_t>(prot);
        break;
    }
    case record::munmap:
        ok = get_seq_time() && get_addr(h.addr, "addr") && c.v(h.size, "length") && c.v(h.stack, "stack");
        break;
    case record::mremap:
        ok = get_seq_time() && get_addr(h.addr, "old_addr") && c.v(h.old_size, "old_length") &&
             get_addr(h.new_addr, "new_addr") && c.v(h.size, "new_length") && c.v(h.stack, "stack");
        break;
    case record::rss:
        ok = get_seq_time() && c.v(h.size, "resident_bytes") && c.v(h.old_size, "virtual_bytes");
        break;
    case record::main_start:
        ok = get_seq_time();
        break;
    case record::fork: {
        std::uint64_t pid;
        ok = get_seq_time() && c.v(pid, "child_pid") && get_text("child_trace");
        h.value = static_cast<std::int64_t>(pid);
        break;
    }
    case record::exec:
        ok = get_seq_time() && get_text("path");
        break;
    case record::thread_start: {
        std::uint64_t tid;
        ok = get_seq_time() && get_slot(h.thread) && c.v(tid, "tid") && get_text("name");
        if (!ok) break;
        h.value = static_cast<std::int64_t>(tid);
        threads.push_back({h.thread, tid, r->texts.back(), h.seq, UINT64_MAX});
        break;
    }
    case record::thread_end:
        ok = get_seq_time() && get_slot(h.thread);
        if (!ok) break;
        h.value = h.thread;
        for (auto t = threads.rbegin(); t != threads.rend(); ++t)
            if (t->slot == h.thread && t->end_seq == UINT64_MAX) {
                t->end_seq = h.seq;
                break;
            }
        break;
    case record::module_load: {
        module_info m;
        std::string_view build_id;
        std::uint64_t nseg;
        ok = get_seq_time() && c.v(m.id, "id") && c.v(m.base, "base") && get_text("path") &&
             c.bytes(build_id, "build_id") && c.v(nseg, "nseg");
        if (!ok) break;
        if (nseg > static_cast<std::uint64_t>(c.end - c.p) / 3) {  // a segment takes 3 bytes at least
            c.what = "nseg";
            ok = false;
            break;
        }
        m.segments.resize(nseg);
        for (auto& seg : m.segments) {
            std::uint64_t flags;
            ok = c.v(seg.start, "segment start") && c.v(seg.size, "segment size") && c.v(flags, "segment flags");
            if (!ok) break;
            seg.flags = static_cast<std::uint32_t>(flags);
        }
        if (!ok) break;
        h.value = static_cast<std::int64_t>(m.id);
        h.addr = m.base;
        m.path = r->texts.back();
        m.build_id.assign(build_id.begin(), build_id.end());
        m.load_seq = h.seq;
        modules.push_back(std::move(m));
        break;
    }
    case record::module_unload: {
        std::uint64_t id;
        ok = get_seq_time() && c.v(id, "id");
        if (!ok) break;
        h.value = static_cast<std::int64_t>(id);
        for (auto m = modules.rbegin(); m != modules.rend(); ++m)
            if (m->id == id && m->unload_seq == UINT64_MAX) {
                m->unload_seq = h.seq;
                break;
            }
        break;
    }
    case record::end: {
        std::uint8_t how;
        std::int64_t status;
        ok = get_seq_time() && c.u8(how, "how") && c.z(status, "status");
        if (!ok) break;
        h.flags = how;
        h.value = status;
        complete = true;
        break;
    }
    default:
        ok = false;
        break;
    }
    if (!ok) return undo();
    ++held_count;
    if (held_count > peak_held) peak_held = held_count;
    return true;
}

void reader::state::add_stack(std::uint64_t id, std::uint64_t parent, std::uint64_t ip) {
    // Ids are small and dense in practice; a far one goes to the map, so a
    // damaged id cannot make the table huge.
    if (id < stacks.size() || id <= 2 * stacks.size() + 4096) {
        if (id >= stacks.size()) stacks.resize(id + 1);
        if (!stacks[id].present) {
            stacks[id] = {stack_node{parent, ip}, true};
            ++stack_count;
        }
        return;
    }
    if (sparse.emplace(id, stack_node{parent, ip}).second) ++stack_count;
}

// ---- merging ----

run* reader::state::take_run() {
    if (!spare.empty()) {
        run* r = spare.back();
        spare.pop_back();
        return r;
    }
    runs.push_back(std::make_unique<run>());
    return runs.back().get();
}

void reader::state::push_run(run* r) {
    r->serial = ++serial;
    std::size_t i = heap.size();
    heap.push_back(r);
    while (i > 0) {
        const std::size_t parent = (i - 1) / 2;
        if (!run_before(heap[i], heap[parent])) break;
        std::swap(heap[i], heap[parent]);
        i = parent;
    }
}

void reader::state::sift_down(std::size_t i) {
    const std::size_t n = heap.size();
    for (;;) {
        const std::size_t l = 2 * i + 1;
        if (l >= n) return;
        std::size_t m = l;
        if (l + 1 < n && run_before(heap[l + 1], heap[l])) m = l + 1;
        if (!run_before(heap[m], heap[i])) return;
        std::swap(heap[i], heap[m]);
        i = m;
    }
}

// The top run has delivered its last event: recycle it.
void reader::state::pop_top() {
    run* r = heap.front();
    heap.front() = heap.back();
    heap.pop_back();
    if (!heap.empty()) sift_down(0);
    r->events.clear();
    r->texts.clear();
    r->next = 0;
    spare.push_back(r);
}

// ---- the reader ----

reader::reader() : s_(std::make_unique<state>()) {}
reader::~reader() = default;
reader::reader(reader&&) noexcept = default;
reader& reader::operator=(reader&&) noexcept = default;

bool reader::open(const std::string& path) {
    s_ = std::make_unique<state>();
    s_->path = path;
    s_->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (s_->fd < 0) {
        s_->fail(0, printf_string("cannot open the trace: %s", std::strerror(errno)));
        return false;
    }
    struct stat st {};
    if (::fstat(s_->fd, &st) != 0) {
        s_->fail(0, printf_string("cannot stat the trace: %s", std::strerror(errno)));
        return false;
    }
    s_->size = static_cast<std::uint64_t>(st.st_size);
    return s_->start();
}

bool reader::open_memory(const std::uint8_t* data, std::size_t size, const std::string& name) {
    s_ = std::make_unique<state>();
    s_->path = name;
    s_->memory = data;
    s_->size = size;
    if (data == nullptr && size > 0) {
        s_->fail(0, "open_memory: no data");
        return false;
    }
    static const std::uint8_t none = 0;
    if (data == nullptr) s_->memory = &none;
    return s_->start();
}

bool reader::next(event& e) {
    state& s = *s_;
    for (;;) {
        if (!s.heap.empty()) [[likely]] {
            run* r = s.heap.front();
            const held& h = r->events[r->next];
            if (h.seq < s.watermark || s.input_done) [[likely]] {
                e.kind = h.kind;
                e.operation = h.operation;
                e.seq = h.seq;
                e.time_ns = h.time;
                e.thread = h.thread;
                e.addr = h.addr;
                e.new_addr = h.new_addr;
                e.size = h.size;
                e.old_size = h.old_size;
                e.align = h.align;
                e.stack = h.stack;
                e.value = h.value;
                e.flags = h.flags;
                e.fd = h.fd;
                if (h.text != 0) [[unlikely]]
                    e.text = std::move(r->texts[h.text - 1]);
                else
                    e.text.clear();
                --s.held_count;
                if (++r->next == r->events.size())
                    s.pop_top();
                else if (s.heap.size() > 1)
                    s.sift_down(0);
                return true;
            }
        }
        if (s.input_done) return false;
        s.read_chunk();
    }
}

const std::optional<read_error>& reader::error() const { return s_->error; }
bool reader::complete() const { return s_->complete; }
const process_info& reader::process() const { return s_->process; }

const stack_node* reader::stack(std::uint64_t id) const {
    const state& s = *s_;
    if (id < s.stacks.size()) return s.stacks[id].present ? &s.stacks[id].node : nullptr;
    const auto it = s.sparse.find(id);
    return it == s.sparse.end() ? nullptr : &it->second;
}
std::size_t reader::stack_count() const { return s_->stack_count; }
const std::vector<module_info>& reader::modules() const { return s_->modules; }
const std::vector<thread_info>& reader::threads() const { return s_->threads; }
std::uint64_t reader::lost_events() const { return s_->lost; }
std::uint64_t reader::bytes_read() const { return s_->offset; }
std::size_t reader::held_events() const { return s_->held_count; }
std::size_t reader::peak_held_events() const { return s_->peak_held; }

}  // namespace heapkit::trace
