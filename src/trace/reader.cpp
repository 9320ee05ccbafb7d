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
#include <deque>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <zstd.h>

namespace heapkit::trace {

static_assert(std::endian::native == std::endian::little, "the trace format is little-endian; so is this reader");

// The fuzz target's build (tests/fuzz/trace_reader_fuzz.cpp) ignores CRC
// mismatches, so that mutated inputs reach the decoder behind them.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
constexpr bool skip_crc_checks = true;
#else
constexpr bool skip_crc_checks = false;
#endif

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

// An event between decoding and delivery, in 64 bytes. The common kinds
// (alloc, free, realloc) are held whole; any other kind is a whole
// trace::event in its run's `others`, which `other` points to.
struct held {
    std::uint64_t seq, time, addr;
    union {
        std::uint64_t new_addr;  // alloc, free, realloc
        event* other;            // every other kind
    };
    std::uint64_t size, align, stack;
    std::uint32_t thread;
    record kind;
    op operation;
};
static_assert(sizeof(held) == 64);

bool is_common(record k) { return static_cast<std::uint8_t>(k) - 1u < 3u; }  // alloc, free, realloc

// The events of one chunk, in seq order (non-decreasing). A run is not
// changed after decoding (pointers into `events` stay valid) until it is
// recycled, after its last event was delivered.
struct run {
    std::vector<held> events;
    std::deque<event> others;  // the events of uncommon kinds (stable addresses)
    std::size_t next = 0;      // events[next] is the first not delivered
    std::uint64_t serial = 0;  // the order runs were read in: equal seqs come out in file order
};

// A run in the merge heap, with its next event's seq beside it so that
// comparisons stay inside the heap's array.
struct heap_entry {
    std::uint64_t seq;  // == r->events[r->next].seq
    std::uint64_t serial;  // == r->serial
    run* r;
};

bool entry_before(const heap_entry& a, const heap_entry& b) {
    return a.seq < b.seq || (a.seq == b.seq && a.serial < b.serial);
}

// Reads a varint without an end check: the caller guarantees that
// max_varint_bytes can be read. false: more than 64 bits.
inline bool varint_unchecked(const std::uint8_t*& p, std::uint64_t& v) {
    std::uint64_t b = p[0];
    if (b < 0x80) [[likely]] {
        v = b;
        p += 1;
        return true;
    }
    std::uint64_t r = b & 0x7f;
    for (unsigned i = 1; i < max_varint_bytes; ++i) {
        b = p[i];
        if (i == max_varint_bytes - 1 && b > 1) return false;
        r |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            v = r;
            p += i + 1;
            return true;
        }
    }
    return false;
}

// The same, without branches on the varint's length when it has at most 8
// bytes (the common case): one 8-byte load, the stop byte found by its clear
// high bit, the 7-bit groups gathered in three steps.
inline bool varint_fast(const std::uint8_t*& p, std::uint64_t& v) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    const std::uint64_t stops = ~w & 0x8080808080808080ull;
    if (stops == 0) [[unlikely]]
        return varint_unchecked(p, v);  // 9 or 10 bytes
    const unsigned bits = static_cast<unsigned>(std::countr_zero(stops)) + 1;  // 8 * the varint's length
    const std::uint64_t keep = bits == 64 ? ~0ull : (1ull << bits) - 1;
    w &= keep & 0x7f7f7f7f7f7f7f7full;
    w = (w & 0x007f007f007f007full) | ((w & 0x7f007f007f007f00ull) >> 1);
    w = (w & 0x00003fff00003fffull) | ((w & 0x3fff00003fff0000ull) >> 2);
    w = (w & 0x000000000fffffffull) | ((w & 0x0fffffff00000000ull) >> 4);
    v = w;
    p += bits / 8;
    return true;
}

// The longest alloc, free or realloc record: kind, op and six varints.
constexpr std::size_t fast_record_max = 2 + 6 * max_varint_bytes;

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
    std::vector<heap_entry> heap;            // min-heap by entry_before; every run in it has an event left
    std::vector<std::unique_ptr<run>> runs;  // owns every run
    std::vector<run*> spare;                 // emptied runs, to reuse
    std::uint64_t watermark = 0;             // the largest watermark read: events below it were all read
    bool saw_watermark = false;
    std::uint64_t serial = 0;
    std::vector<const held*> batch;  // make_batch(): events by seq - its base; null where no event has that seq
    std::size_t batch_next = 0;      // batch[batch_next] is the next slot to deliver
    bool batch_worth_trying = true;  // false after make_batch() failed, until runs or the watermark change
    std::vector<run*> batch_runs;    // runs emptied into the batch, recycled at its end
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
        finish_input();
    }
    void finish_input() {
        input_done = true;
        batch_worth_trying = true;  // everything is releasable now
    }

    bool start();
    bool read_at(std::uint64_t at, void* to, std::size_t n);
    void read_chunk();
    void decode(const std::uint8_t* begin, const std::uint8_t* end, std::uint32_t thread, std::uint64_t chunk_at);
    bool decode_record(cursor& c, std::uint8_t kind, std::uint32_t thread, run*& r, std::uint64_t (&delta)[3],
                       std::string& detail);
    bool decode_fast(const std::uint8_t*& p, std::uint32_t thread, run& r, std::uint64_t (&delta)[3]);
    run* take_run();
    void push_run(run* r);
    void pop_top();
    void recycle(run* r);
    bool make_batch(std::uint64_t limit);
    void end_batch();
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
        finish_input();
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
    if (header_crc != h.header_crc && !skip_crc_checks) {
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
    if (payload_crc != h.payload_crc && !skip_crc_checks) {
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
        const std::uint8_t kind = *c.p;
        if (kind - 1u < 3u && static_cast<std::size_t>(end - rec) >= fast_record_max) [[likely]] {
            if (r == nullptr) r = take_run();
            if (decode_fast(c.p, thread, *r, delta)) [[likely]]
                continue;
        }
        ++c.p;
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

// An alloc, free or realloc record with at least fast_record_max bytes left
// in the chunk: no per-field end checks. false (nothing changed): anything
// unusual, which decode_record() decodes again with every check and names.
bool reader::state::decode_fast(const std::uint8_t*& pp, std::uint32_t thread, run& r, std::uint64_t (&delta)[3]) {
    const std::uint8_t* p = pp;
    const auto kind = static_cast<record>(p[0]);
    const std::uint8_t o = p[1];
    if (o >= static_cast<std::uint8_t>(op::count_)) return false;
    const auto operation = static_cast<op>(o);
    p += 2;
    std::uint64_t ds, dt, da, dn = 0, length = 0, align = 0, stack;
    if (!(varint_fast(p, ds) && varint_fast(p, dt) && varint_fast(p, da))) return false;
    if (kind == record::alloc) {
        if (!varint_fast(p, length)) return false;
        if (op_has_align(operation) && !varint_fast(p, align)) return false;
    } else if (kind == record::free) {
        if (op_has_size(operation) && !varint_fast(p, length)) return false;
        if (op_has_align(operation) && !varint_fast(p, align)) return false;
    } else {
        if (!(varint_fast(p, dn) && varint_fast(p, length))) return false;
    }
    if (!varint_fast(p, stack)) return false;
    const std::uint64_t seq = delta[0] + ds;
    if (seq < delta[0] || seq < watermark) return false;
    const std::uint64_t time = delta[1] + static_cast<std::uint64_t>(unzigzag(dt));
    const std::uint64_t addr = delta[2] + static_cast<std::uint64_t>(unzigzag(da));
    const std::uint64_t new_addr = kind == record::realloc ? addr + static_cast<std::uint64_t>(unzigzag(dn)) : 0;
    held& h = r.events.emplace_back();
    h.seq = seq;
    h.time = time;
    h.addr = addr;
    h.new_addr = new_addr;
    h.size = length;
    h.align = align;
    h.stack = stack;
    h.thread = thread;
    h.kind = kind;
    h.operation = operation;
    delta[0] = seq;
    delta[1] = time;
    delta[2] = kind == record::realloc ? new_addr : addr;
    if (++held_count > peak_held) peak_held = held_count;
    pp = p;
    return true;
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
            if (w > watermark) {
                watermark = w;
                batch_worth_trying = true;
            }
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
    event h;
    h.thread = thread;
    h.kind = static_cast<record>(kind);
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
        h.time_ns = time;
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
        h.text = s;
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
        std::uint64_t prot = 0;
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
        std::uint64_t pid = 0;
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
        threads.push_back({h.thread, tid, h.text, h.seq, UINT64_MAX});
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
        m.path = h.text;
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
    if (!ok) return false;
    held& k = r->events.emplace_back();
    k.seq = h.seq;
    k.time = h.time_ns;
    k.addr = h.addr;
    k.size = h.size;
    k.align = h.align;
    k.stack = h.stack;
    k.thread = h.thread;
    k.kind = h.kind;
    k.operation = h.operation;
    if (is_common(h.kind)) {
        k.new_addr = h.new_addr;
    } else {
        r->others.push_back(std::move(h));
        k.other = &r->others.back();
    }
    if (++held_count > peak_held) peak_held = held_count;
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
    batch_worth_trying = true;
    std::size_t i = heap.size();
    heap.push_back({r->events.front().seq, r->serial, r});
    while (i > 0) {
        const std::size_t parent = (i - 1) / 2;
        if (!entry_before(heap[i], heap[parent])) break;
        std::swap(heap[i], heap[parent]);
        i = parent;
    }
}

void reader::state::sift_down(std::size_t i) {
    const std::size_t n = heap.size();
    const heap_entry moving = heap[i];
    for (;;) {
        const std::size_t l = 2 * i + 1;
        if (l >= n) break;
        std::size_t m = l;
        if (l + 1 < n && entry_before(heap[l + 1], heap[l])) m = l + 1;
        if (!entry_before(heap[m], moving)) break;
        heap[i] = heap[m];
        i = m;
    }
    heap[i] = moving;
}

// The top run has delivered its last event: out of the heap, to reuse.
void reader::state::pop_top() {
    run* r = heap.front().r;
    heap.front() = heap.back();
    heap.pop_back();
    if (heap.size() > 1) sift_down(0);
    recycle(r);
}

void reader::state::recycle(run* r) {
    r->events.clear();
    r->others.clear();
    r->next = 0;
    spare.push_back(r);
}

// The events below `limit` as one batch placed by seq, when their seqs are
// dense (every seq in the range taken once, as one process-wide counter
// gives them): then next() walks the batch instead of the heap, one step per
// event. false (nothing changed): too few events, sparse or repeated seqs.
bool reader::state::make_batch(std::uint64_t limit) {
    constexpr std::size_t min_batch = 256;
    if (!batch_worth_trying) return false;
    batch_worth_trying = false;  // a failed attempt is not repeated for every event
    const std::uint64_t base = heap.front().seq;
    std::uint64_t hi = base;
    std::size_t n = 0;
    for (const heap_entry& h : heap) {
        const run& r = *h.r;
        const auto first = r.events.begin() + static_cast<std::ptrdiff_t>(r.next);
        const auto cut = std::lower_bound(first, r.events.end(), limit,
                                          [](const held& e, std::uint64_t s) { return e.seq < s; });
        if (cut == first) continue;
        n += static_cast<std::size_t>(cut - first);
        hi = std::max(hi, (cut - 1)->seq);
    }
    if (n < min_batch || hi - base >= 2 * static_cast<std::uint64_t>(n)) return false;
    batch.assign(static_cast<std::size_t>(hi - base + 1), nullptr);
    for (const heap_entry& h : heap) {
        const run& r = *h.r;
        for (std::size_t i = r.next; i < r.events.size() && r.events[i].seq < limit; ++i) {
            const held*& slot = batch[static_cast<std::size_t>(r.events[i].seq - base)];
            if (slot != nullptr) {  // a repeated seq: the heap orders those
                batch.clear();
                return false;
            }
            slot = &r.events[i];
        }
    }
    // Take the batch's events out of their runs; runs emptied wait for the batch's end.
    std::size_t kept = 0;
    for (heap_entry& h : heap) {
        run& r = *h.r;
        while (r.next < r.events.size() && r.events[r.next].seq < limit) ++r.next;
        if (r.next == r.events.size()) {
            batch_runs.push_back(&r);
        } else {
            h.seq = r.events[r.next].seq;
            heap[kept++] = h;
        }
    }
    heap.resize(kept);
    for (std::size_t i = heap.size() / 2; i-- > 0;) sift_down(i);
    batch_next = 0;
    return true;
}

void reader::state::end_batch() {
    batch.clear();
    batch_next = 0;
    for (run* r : batch_runs) recycle(r);
    batch_runs.clear();
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

namespace {

// Fills `e` from a held event (moving an uncommon kind's strings out).
inline void deliver(event& e, const held& h) {
    if (is_common(h.kind)) [[likely]] {
        e.kind = h.kind;
        e.operation = h.operation;
        e.seq = h.seq;
        e.time_ns = h.time;
        e.thread = h.thread;
        e.addr = h.addr;
        e.new_addr = h.new_addr;
        e.size = h.size;
        e.old_size = 0;
        e.align = h.align;
        e.stack = h.stack;
        e.value = 0;
        e.flags = 0;
        e.fd = -1;
        e.text.clear();
    } else {
        e = std::move(*h.other);
    }
}

}  // namespace

bool reader::next(event& e) {
    state& s = *s_;
    for (;;) {
        // A batch placed by seq: the next taken slot.
        while (s.batch_next < s.batch.size()) {
            const held* h = s.batch[s.batch_next++];
            if (h == nullptr) continue;
            deliver(e, *h);
            --s.held_count;
            return true;
        }
        if (!s.batch.empty() || !s.batch_runs.empty()) s.end_batch();
        if (!s.heap.empty()) [[likely]] {
            heap_entry& top = s.heap.front();
            if (top.seq < s.watermark || s.input_done) [[likely]] {
                if (s.make_batch(s.input_done ? UINT64_MAX : s.watermark)) continue;
                run* r = top.r;
                deliver(e, r->events[r->next]);
                --s.held_count;
                if (++r->next == r->events.size()) {
                    s.pop_top();
                } else {
                    top.seq = r->events[r->next].seq;
                    if (s.heap.size() > 1) s.sift_down(0);
                }
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
