// writer: moves records from the rings to the trace file.
//
// A drain round (under the drain lock):
//   1. G = the next sequence number of the process;
//   2. wait until no slot is mid-append (gen odd) with a seq < G (bounded:
//      after 200 ms the round writes no watermark);
//   3. each slot's committed bytes -> transcode -> one zstd chunk (its slot,
//      first_seq hint); the slot's ring space is given back; ended slots are freed;
//   4. a slot-0 chunk: rss sample (every ~10 ms), lost counts, watermark G
//      (every event with seq < G is in the file now), and the end record in the
//      final round.
// Chunks are zstd level 1 (the compression context lives in mmap'ed memory
// through a custom allocator: never the heap), written with write(2), both
// CRCs filled in (make_chunk_header).
//
// The writer thread (all signals blocked, never records) runs a round every
// 5 ms or when a producer's ring is over half full. A producer whose ring is
// full wakes it and waits; with no writer thread (before the constructor,
// after the end, in a fork child before its restart) the producer runs the
// round itself.
#pragma once

#include "trace/format.hpp"

#include <cstdint>

namespace heapkit::trace::recorder {

// Opens the trace file (O_CREAT|O_EXCL): `base` first when `try_base`, then
// base.<pid>, then base.<pid>.<n>; writes the file header. The fd, or -1.
int writer_open_file(const char* base, bool try_base, long pid, char* path_out, std::size_t cap) noexcept;
void writer_set_fd(int fd) noexcept;
int writer_fd() noexcept;

// Writes one slot-0 chunk of `n` raw record bytes (metadata: the process record).
void writer_write_meta(const std::uint8_t* raw, std::size_t n) noexcept;

// One drain round (see above); `end_how_plus_one` != 0 appends an end record.
void drain_round(int end_how_plus_one = 0, std::int64_t status = 0) noexcept;

void writer_start() noexcept;  // the writer thread (idempotent; lazily restarted after fork)
void writer_stop() noexcept;   // stops and joins it (idempotent)
bool writer_running() noexcept;
void writer_wake() noexcept;

void writer_lock() noexcept;  // the drain lock, for pthread_atfork
void writer_unlock() noexcept;
void writer_after_fork() noexcept;  // the child: unlocked, no thread

}  // namespace heapkit::trace::recorder
