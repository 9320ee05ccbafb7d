// encode: writes the records of the trace format (format.hpp) into a byte
// buffer. The recorder calls these on its hot path (into a thread's ring),
// tests and tools to build traces; the reader is their inverse.
//
//   trace::encoder enc;                   // delta state of one chunk: seq, time, addr
//   p = enc.alloc(p, op::malloc, seq, t, addr, size, 0, stack);
//   p = enc.free(p, op::free, seq, t, addr, 0, 0, 0);
//   ... when the chunk is cut: enc.reset()
//
// Each function writes at most the bytes its *_max constant says (fixed
// fields at their varint maximum; strings add their length), never
// allocates, and returns the end of what it wrote. Delta state starts at zero
// in each chunk, so the reader decodes a chunk on its own.
#pragma once

#include "trace/format.hpp"

#include <cstdint>
#include <cstring>
#include <string_view>

namespace heapkit::trace {

// Upper bounds of one record's encoding, for reserving ring space.
inline constexpr std::size_t alloc_record_max = 2 + 7 * max_varint_bytes;
inline constexpr std::size_t free_record_max = 2 + 6 * max_varint_bytes;
inline constexpr std::size_t realloc_record_max = 2 + 6 * max_varint_bytes;
inline constexpr std::size_t mapping_record_max = 1 + 9 * max_varint_bytes;
inline constexpr std::size_t small_record_max = 1 + 6 * max_varint_bytes;  // rss, main_start, thread_end, stack_node, ...
// Records with strings: small_record_max + the strings' lengths + max_varint_bytes each.

struct encoder {
    std::uint64_t last_seq = 0;   // seq of the previous event record in this chunk
    std::uint64_t last_time = 0;  // time of the previous event record in this chunk
    std::uint64_t last_addr = 0;  // the previous address field written in this chunk

    void reset() noexcept { *this = encoder{}; }

    static std::uint8_t* put_u8(std::uint8_t* p, std::uint8_t v) noexcept {
        *p++ = v;
        return p;
    }
    static std::uint8_t* put_string(std::uint8_t* p, std::string_view s) noexcept {
        p = put_varint(p, s.size());
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        return p + s.size();
    }
    // seq and time as deltas. Seq never goes back within a chunk (one thread
    // writes it, in the order it took its sequence numbers); time may (the
    // coarse clock is per CPU), so it is zigzag-coded.
    std::uint8_t* put_seq_time(std::uint8_t* p, std::uint64_t seq, std::uint64_t time) noexcept {
        p = put_varint(p, seq - last_seq);
        p = put_varint(p, zigzag(static_cast<std::int64_t>(time - last_time)));
        last_seq = seq;
        last_time = time;
        return p;
    }
    std::uint8_t* put_addr(std::uint8_t* p, std::uint64_t addr) noexcept {
        p = put_varint(p, zigzag(static_cast<std::int64_t>(addr - last_addr)));
        last_addr = addr;
        return p;
    }

    std::uint8_t* alloc(std::uint8_t* p, op o, std::uint64_t seq, std::uint64_t time, std::uint64_t addr,
                        std::uint64_t size, std::uint64_t align, std::uint64_t stack) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::alloc));
        p = put_u8(p, static_cast<std::uint8_t>(o));
        p = put_seq_time(p, seq, time);
        p = put_addr(p, addr);
        p = put_varint(p, size);
        if (op_has_align(o)) p = put_varint(p, align);
        return put_varint(p, stack);
    }
    std::uint8_t* free(std::uint8_t* p, op o, std::uint64_t seq, std::uint64_t time, std::uint64_t addr,
                       std::uint64_t size, std::uint64_t align, std::uint64_t stack) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::free));
        p = put_u8(p, static_cast<std::uint8_t>(o));
        p = put_seq_time(p, seq, time);
        p = put_addr(p, addr);
        if (op_has_size(o)) p = put_varint(p, size);
        if (op_has_align(o)) p = put_varint(p, align);
        return put_varint(p, stack);
    }
    // new_addr is written as a delta from old_addr (and becomes the addr state).
    std::uint8_t* realloc(std::uint8_t* p, op o, std::uint64_t seq, std::uint64_t time, std::uint64_t old_addr,
                          std::uint64_t new_addr, std::uint64_t size, std::uint64_t stack) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::realloc));
        p = put_u8(p, static_cast<std::uint8_t>(o));
        p = put_seq_time(p, seq, time);
        p = put_addr(p, old_addr);
        p = put_addr(p, new_addr);
        p = put_varint(p, size);
        return put_varint(p, stack);
    }
    std::uint8_t* mmap(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint64_t addr,
                       std::uint64_t length, std::uint64_t prot, std::uint64_t flags, std::int64_t fd,
                       std::uint64_t stack) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::mmap));
        p = put_seq_time(p, seq, time);
        p = put_addr(p, addr);
        p = put_varint(p, length);
        p = put_varint(p, prot);
        p = put_varint(p, flags);
        p = put_varint(p, zigzag(fd));
        return put_varint(p, stack);
    }
    std::uint8_t* munmap(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint64_t addr,
                         std::uint64_t length, std::uint64_t stack) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::munmap));
        p = put_seq_time(p, seq, time);
        p = put_addr(p, addr);
        p = put_varint(p, length);
        return put_varint(p, stack);
    }
    std::uint8_t* mremap(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint64_t old_addr,
                         std::uint64_t old_length, std::uint64_t new_addr, std::uint64_t new_length,
                         std::uint64_t stack) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::mremap));
        p = put_seq_time(p, seq, time);
        p = put_addr(p, old_addr);
        p = put_varint(p, old_length);
        p = put_addr(p, new_addr);
        p = put_varint(p, new_length);
        return put_varint(p, stack);
    }
    std::uint8_t* rss(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint64_t resident,
                      std::uint64_t virtual_bytes) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::rss));
        p = put_seq_time(p, seq, time);
        p = put_varint(p, resident);
        return put_varint(p, virtual_bytes);
    }
    std::uint8_t* main_start(std::uint8_t* p, std::uint64_t seq, std::uint64_t time) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::main_start));
        return put_seq_time(p, seq, time);
    }
    std::uint8_t* fork(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint64_t child_pid,
                       std::string_view child_trace) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::fork));
        p = put_seq_time(p, seq, time);
        p = put_varint(p, child_pid);
        return put_string(p, child_trace);
    }
    std::uint8_t* exec(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::string_view path) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::exec));
        p = put_seq_time(p, seq, time);
        return put_string(p, path);
    }
    std::uint8_t* thread_start(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint32_t slot,
                               std::uint64_t tid, std::string_view name) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::thread_start));
        p = put_seq_time(p, seq, time);
        p = put_varint(p, slot);
        p = put_varint(p, tid);
        return put_string(p, name);
    }
    std::uint8_t* thread_end(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint32_t slot) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::thread_end));
        p = put_seq_time(p, seq, time);
        return put_varint(p, slot);
    }
    // module_load without its segments: follow it with put_varint(nseg) and
    // module_segment() for each.
    std::uint8_t* module_load(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint64_t id,
                              std::uint64_t base, std::string_view path, std::string_view build_id) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::module_load));
        p = put_seq_time(p, seq, time);
        p = put_varint(p, id);
        p = put_varint(p, base);
        p = put_string(p, path);
        return put_string(p, build_id);
    }
    static std::uint8_t* module_segment(std::uint8_t* p, std::uint64_t start, std::uint64_t size,
                                        std::uint32_t flags) noexcept {
        p = put_varint(p, start);
        p = put_varint(p, size);
        return put_varint(p, flags);
    }
    std::uint8_t* module_unload(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, std::uint64_t id) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::module_unload));
        p = put_seq_time(p, seq, time);
        return put_varint(p, id);
    }
    std::uint8_t* end(std::uint8_t* p, std::uint64_t seq, std::uint64_t time, end_how how,
                      std::int64_t status) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::end));
        p = put_seq_time(p, seq, time);
        p = put_u8(p, static_cast<std::uint8_t>(how));
        return put_varint(p, zigzag(status));
    }

    // ---- metadata: no seq, no delta state ----
    static std::uint8_t* stack_node(std::uint8_t* p, std::uint64_t id, std::uint64_t parent,
                                    std::uint64_t ip) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::stack_node));
        p = put_varint(p, id);
        p = put_varint(p, parent);
        return put_varint(p, ip);
    }
    static std::uint8_t* watermark(std::uint8_t* p, std::uint64_t seq) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::watermark));
        return put_varint(p, seq);
    }
    static std::uint8_t* lost(std::uint8_t* p, std::uint64_t count) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::lost));
        return put_varint(p, count);
    }
    // A sized record (kind >= first_sized_kind): its bytes after a length,
    // so that a reader that does not know the kind skips it.
    static std::uint8_t* sized(std::uint8_t* p, std::uint8_t kind, std::string_view bytes) noexcept {
        p = put_u8(p, kind);
        return put_string(p, bytes);
    }
    // process: the strings are written by the caller's loop for argv; this
    // writes everything up to argc, then call put_string per argument, then
    // process_tail().
    static std::uint8_t* process_head(std::uint8_t* p, std::uint64_t pid, std::uint64_t ppid,
                                      std::uint64_t start_realtime_ns, std::uint64_t start_monotonic_ns,
                                      std::string_view exe, std::uint64_t argc) noexcept {
        p = put_u8(p, static_cast<std::uint8_t>(record::process));
        p = put_varint(p, pid);
        p = put_varint(p, ppid);
        p = put_varint(p, start_realtime_ns);
        p = put_varint(p, start_monotonic_ns);
        p = put_string(p, exe);
        return put_varint(p, argc);
    }
    static std::uint8_t* process_tail(std::uint8_t* p, std::string_view parent_trace, std::string_view previous_trace,
                                      std::uint64_t sample_rate, std::uint64_t page_size,
                                      std::string_view recorder) noexcept {
        p = put_string(p, parent_trace);
        p = put_string(p, previous_trace);
        p = put_varint(p, sample_rate);
        p = put_varint(p, page_size);
        return put_string(p, recorder);
    }
};

}  // namespace heapkit::trace
