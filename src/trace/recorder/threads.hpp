// threads: the recorder's per-thread state. Each thread that records gets a
// slot (a number 1..max_slots-1, the chunk header's `thread`; 0 is the
// process's own metadata) holding its ring, its encoder and its stack cache.
// Slots live in one static table (zero pages until touched), rings are mapped
// at a slot's first use and kept for the next thread that takes the slot.
//
//   thread_local thread_state ts ──► slot ──► ring (2 MiB, mmap)
//                                       ├── enc: delta state of the ring's records
//                                       ├── wr:  the consumer's decode state at `consumed`
//                                       └── cache: the previous stack (for stacks.cpp)
//
// Slot life: free -> live (a thread's first event: thread_start record) ->
// ended (the pthread key destructor wrote thread_end; the thread never
// touches the slot again) -> free (the drain that empties an ended slot).
//
// The shared slot (shared_slot_id) takes events of threads that have no slot:
// a thread past its thread_end (glibc frees its TLS after the key
// destructors), or any thread when the table is full. Its producers take its
// lock (a try-lock in a signal handler: the event is counted lost instead).
//
// Invariants: only the owning thread (and its signal handlers) write a live
// slot's producer fields; `gen` is odd exactly while the owner is between
// taking a sequence number and committing the record that carries it.
#pragma once

#include "trace/encode.hpp"
#include "trace/recorder/ring.hpp"
#include "trace/recorder/spinlock.hpp"

#include <atomic>
#include <cstdint>

namespace heapkit::trace::recorder {

inline constexpr std::uint32_t max_slots = 4096;
inline constexpr std::uint32_t shared_slot_id = 1;  // threads without a slot of their own
inline constexpr std::uint32_t max_frames = 128;    // deeper stacks keep their innermost frames

enum class slot_state : std::uint32_t { free = 0, live = 1, ended = 2 };

// The previous stack of a thread, outermost frame first, with its trie node ids.
struct stack_cache {
    std::uint32_t depth = 0;
    std::uint64_t epoch = 0;  // stacks.cpp's epoch when filled (a dlclose empties every cache)
    std::uintptr_t ips[max_frames] = {};
    std::uint64_t ids[max_frames] = {};
};

// The consumer's delta state at `consumed` (the ring is one long stream of records).
struct decode_state {
    std::uint64_t seq = 0, time = 0, addr = 0;
};

struct slot {
    std::atomic<slot_state> state{slot_state::free};
    std::atomic<std::uint32_t> gen{0};  // odd: a sequence number taken, its record not committed yet
    std::uint32_t id = 0;               // index in the table
    ring r;
    encoder enc;                                // producer: delta state of the ring's stream
    decode_state wr;                            // consumer
    std::atomic<std::uint64_t> lost{0};         // events this slot's producers could not append
    bool nudged = false;                        // the producer woke the writer; the writer clears it when it drains
    spinlock shared_lock;                       // the shared slot only: serialises its producers
    stack_cache cache;                          // producer (stacks.cpp)
    void* nodes = nullptr;                      // producer: its trie node cache (stacks.cpp), mapped at first use
    std::uintptr_t stack_lo = 0, stack_hi = 0;  // producer: the owning thread's stack (0: unknown)
    bool stack_tried = false;                   // producer: stack_lo/hi were looked for
};

// Per-thread recorder state (initial-exec TLS: no allocation, usable in signal handlers).
struct thread_state {
    slot* s = nullptr;             // this thread's slot, nullptr before its first event (or after its end)
    std::uint32_t recording = 0;   // > 0: inside the recorder on this thread (a nested call is a signal handler's)
    std::uint32_t internal = 0;    // > 0: the recorder itself calls out (dlsym, pthread_create): unrecorded
    std::uint32_t unwinding = 0;   // > 0: inside libunwind (its mmap/munmap calls are its caches: unrecorded)
    std::uint32_t in_cxx = 0;      // forwarding to the C++ runtime's operator new/delete (may stay set after a throw)
    std::int64_t sample_left = 0;  // bytes until the next sampled allocation (sampling on)
    std::uint64_t rng = 0;         // sampling's random state (0: not seeded)
    bool ended = false;            // thread_end written: later events go to the shared slot
    bool is_writer = false;        // the writer thread: never records
};

extern constinit thread_local thread_state tls_state __attribute__((tls_model("initial-exec")));

extern slot slot_table[max_slots];
extern std::atomic<std::uint32_t> slot_high;  // every slot in use has id < slot_high

// The calling thread's slot, taking one (and writing thread_start) at its first
// event; else the shared slot, locked. nullptr: no slot to be had (out of
// memory, or a signal handler found the shared slot busy); the event is lost.
// Every slot returned goes back through release_slot.
slot* current_slot() noexcept;
inline void release_slot(slot* s) noexcept {
    if (s->id == shared_slot_id) s->shared_lock.unlock();
}

// A thread's last act (its pthread key destructor): thread_end, then the slot is ended.
void end_current_thread() noexcept;

// A fork child: every slot but `keep` is free, `keep`'s ring is empty.
void threads_after_fork(slot* keep) noexcept;

// Maps a slot's ring on first use; false when out of memory.
bool ensure_ring(slot& s) noexcept;

}  // namespace heapkit::trace::recorder
