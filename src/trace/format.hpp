// format: the heapkit trace format, version 1: what the recorder
// (libheapkit-profile.so) writes and every reader (heapkit report, heapkit
// compare) reads. docs/trace-format.md describes it byte by byte; this header
// is its single source in code: the constants, the record kinds and the
// encoding primitives, shared by the writer and the reader.
//
//   file   = file_header chunk*
//   chunk  = chunk_header payload          payload: stored bytes (zstd or raw)
//   raw    = record*                       a chunk's records, decoded on their own
//   record = kind:u8 field*                fields: LEB128 varints, zigzag for signed,
//                                          strings and blobs as varint length + bytes
//
// One process writes one file. Each chunk holds records of one recorder
// thread slot (the `thread` field of its header; 0 for the process's own
// metadata written by the writer thread). Events carry a sequence number taken
// from one process-wide counter: it orders every event of the process. Chunks
// of different threads interleave in the file, so a reader merges them; a
// `watermark` record W promises that every event with seq < W has appeared in
// the file before it, which bounds what a reader must hold back (events of one
// drain round of the writer, never the whole trace).
//
// Invariants a reader checks (and names the offset of when they fail):
//   - file_header.magic == file_magic, version_major == 1;
//   - chunk_header.magic == chunk_magic, header_crc matches its first 24 bytes,
//     stored_size <= max_chunk_bytes, raw_size <= max_chunk_bytes,
//     payload_crc matches the stored bytes, the payload decompresses to
//     exactly raw_size bytes;
//   - every record decodes inside its chunk; delta state (seq, time, address)
//     starts from zero at each chunk, so one damaged chunk spoils no other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace heapkit::trace {

// ---- the file header: 16 bytes, little-endian ----
inline constexpr char file_magic[8] = {'H', 'K', 'T', 'R', 'A', 'C', 'E', '\0'};
inline constexpr std::uint16_t version_major = 1;  // readers refuse another major version
inline constexpr std::uint16_t version_minor = 0;  // readers skip the sized record kinds they do not know

struct file_header {
    char magic[8];                // file_magic
    std::uint16_t version_major;  // 1
    std::uint16_t version_minor;  // 0
    std::uint32_t flags;          // 0; reserved
};
static_assert(sizeof(file_header) == 16);

// ---- a chunk header: 32 bytes, little-endian ----
inline constexpr std::uint32_t chunk_magic = 0x4b434b48;  // "HKCK" in file order
inline constexpr std::uint32_t max_chunk_bytes = 16u << 20;

enum class codec : std::uint8_t { none = 0, zstd = 1 };

struct chunk_header {
    std::uint32_t magic;        // chunk_magic
    std::uint8_t codec;         // trace::codec
    std::uint8_t reserved[3];   // 0
    std::uint32_t thread;       // recorder thread slot whose records these are (0: process records)
    std::uint32_t stored_size;  // bytes of payload that follow (<= max_chunk_bytes)
    std::uint32_t raw_size;     // bytes once decompressed (== stored_size for codec::none)
    std::uint32_t payload_crc;  // CRC-32 (zlib's) of the stored payload
    std::uint32_t first_seq_lo; // low 32 bits of the first event's seq, 0 without events (a hint)
    std::uint32_t header_crc;   // CRC-32 of the 28 bytes above
};
static_assert(sizeof(chunk_header) == 32);

// ---- record kinds ----
// Event records carry `seq` as a delta from the previous event record of the
// same chunk (the first one: from 0) and `time` (nanoseconds since the
// process record's start, CLOCK_MONOTONIC_COARSE: a few ms resolution) as a
// zigzag delta from the previous event record's time (the coarse clock may
// step back a little between CPUs). Addresses are zigzag deltas from the previous address field
// of the chunk (`addr` state). Stack ids name `stack_node` records; 0 is the
// empty stack.
enum class record : std::uint8_t {
    // events (ordered by seq)
    alloc = 0x01,    // op:u8 seq time addr size [align: ops with op_has_align] stack
                     //   addr 0: the call failed (returned NULL / threw)
    free = 0x02,     // op:u8 seq time addr [size: op_has_size] [align: op_has_align] stack
    realloc = 0x03,  // op:u8 seq time old_addr new_addr size stack
                     //   new_addr is a zigzag delta from old_addr; old_addr 0: realloc(NULL, n);
                     //   new_addr 0 and size > 0: failed, old block kept; size 0 and new_addr 0: freed
    mmap = 0x04,     // seq time addr length prot:v flags:v fd:zigzag stack
    munmap = 0x05,   // seq time addr length stack
    mremap = 0x06,   // seq time old_addr old_length new_addr(delta from old) new_length stack
    rss = 0x07,      // seq time resident_bytes virtual_bytes   (sampled by the writer thread)
    main_start = 0x08,  // seq time                               (main is about to run)
    fork = 0x09,     // seq time child_pid:v child_trace:string    (in the parent's trace)
    exec = 0x0a,     // seq time path:string                      (in the trace of the image that execs)
    thread_start = 0x0b,  // seq time slot:v tid:v name:string
    thread_end = 0x0c,    // seq time slot:v
    module_load = 0x0d,   // seq time id:v base:v path:string build_id:blob nseg:v (start:v size:v flags:v)*
                          //   start is the segment's runtime address; flags PF_X=1 PF_W=2 PF_R=4
    module_unload = 0x0e, // seq time id:v
    end = 0x0f,           // seq time how:u8 status:zigzag   (the last record of a complete trace)

    // metadata (order-free: a reader may see them after the events that use them)
    process = 0x20,     // pid:v ppid:v start_realtime_ns:v start_monotonic_ns:v exe:string
                        // argc:v arg:string* parent_trace:string previous_trace:string
                        // sample_rate:v page_size:v recorder:string
    stack_node = 0x21,  // id:v parent:v ip:v       (a frame; parent 0 = outermost; ip = return address)
    watermark = 0x22,   // seq:v                    (every event with seq < it is earlier in the file)
    lost = 0x23,        // count:v                  (events dropped, e.g. a full buffer at a fatal signal)

    // 0x40..0xff: sized records, `kind:u8 length:v byte[length]`. Kinds added
    // by a later minor version that an older reader may skip go here; a reader
    // skips the sized kinds it does not know. An unknown kind below 0x40 has
    // no length to skip by: the reader stops the chunk with an error naming it.
};
inline constexpr std::uint8_t first_sized_kind = 0x40;

// How the process ended (record::end's `how`).
enum class end_how : std::uint8_t { exit = 0, exit_now = 1, abort = 2, unload = 3, exec = 4 };

// The interposed functions, recorded as `op` of an alloc, free or realloc event.
enum class op : std::uint8_t {
    malloc = 0, calloc = 1, realloc = 2, reallocarray = 3, free = 4,
    posix_memalign = 5, aligned_alloc = 6, memalign = 7, valloc = 8, pvalloc = 9,
    new_ = 10, new_array = 11, new_nothrow = 12, new_array_nothrow = 13,
    new_aligned = 14, new_array_aligned = 15, new_aligned_nothrow = 16, new_array_aligned_nothrow = 17,
    delete_ = 18, delete_array = 19, delete_sized = 20, delete_array_sized = 21,
    delete_aligned = 22, delete_array_aligned = 23, delete_sized_aligned = 24, delete_array_sized_aligned = 25,
    delete_nothrow = 26, delete_array_nothrow = 27, delete_aligned_nothrow = 28, delete_array_aligned_nothrow = 29,
    free_sized = 30, free_aligned_sized = 31,  // C23; recorded when the C library has them
    count_ = 32
};

// The C or C++ name of an op ("malloc", "operator new[](size_t, align_val_t)", ...).
std::string_view op_name(op o) noexcept;

// Whether an alloc event of this op carries `align`, a free event `size`.
constexpr bool op_has_align(op o) noexcept {
    switch (o) {
    case op::posix_memalign: case op::aligned_alloc: case op::memalign:
    case op::new_aligned: case op::new_array_aligned: case op::new_aligned_nothrow:
    case op::new_array_aligned_nothrow: case op::delete_aligned: case op::delete_array_aligned:
    case op::delete_sized_aligned: case op::delete_array_sized_aligned: case op::delete_aligned_nothrow:
    case op::delete_array_aligned_nothrow: case op::free_aligned_sized:
        return true;
    default:
        return false;
    }
}
constexpr bool op_has_size(op o) noexcept {
    return o == op::delete_sized || o == op::delete_array_sized || o == op::delete_sized_aligned ||
           o == op::delete_array_sized_aligned || o == op::free_sized || o == op::free_aligned_sized;
}

// ---- encoding primitives: LEB128 and zigzag ----
inline constexpr std::size_t max_varint_bytes = 10;

// Writes v at p (which has room for max_varint_bytes) and returns the end.
inline std::uint8_t* put_varint(std::uint8_t* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
        *p++ = static_cast<std::uint8_t>(v | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<std::uint8_t>(v);
    return p;
}
constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t v) noexcept {
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Reads a varint from [p, end): advances p, or returns false (p unchanged)
// when the input ends inside it or it has more than 64 bits.
inline bool get_varint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& v) noexcept {
    std::uint64_t r = 0;
    const std::uint8_t* q = p;
    for (unsigned shift = 0; q < end && shift < 64; shift += 7) {
        const std::uint8_t b = *q++;
        if (shift == 63 && b > 1) return false;
        r |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if (b < 0x80) {
            v = r;
            p = q;
            return true;
        }
    }
    return false;
}

// CRC-32 as zlib computes it (crc32(0, data, n)).
std::uint32_t crc32(std::span<const std::uint8_t> data) noexcept;

// A chunk header for `payload`, with both checksums filled in.
chunk_header make_chunk_header(codec c, std::uint32_t thread, std::span<const std::uint8_t> stored,
                               std::uint32_t raw_size, std::uint64_t first_seq) noexcept;

}  // namespace heapkit::trace
