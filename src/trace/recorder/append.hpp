// append: how a producer puts one record into its slot's ring (ring.hpp has
// the byte-level protocol; this is the event-level one).
//
//   append_event(s, max, [&](uint8_t* p, encoder& e, uint64_t seq, uint64_t time) { return e.alloc(p, ...); });
//   append_meta(s, max, [&](uint8_t* p) { return encoder::stack_node(p, ...); });
//
// An event takes its sequence number inside its ring reservation, with the
// slot's `gen` odd around it (the writer's watermark waits for even), so seq
// order and ring order agree on a thread. A signal handler that interrupts an
// append in progress (ring.nesting != 0) encodes its record with a fresh
// encoder behind a `ring_absolute` marker: the stream's delta state, which the
// interrupted append is updating, stays untouched.
//
// Room: outside a signal handler, a producer makes room first (make_room:
// wakes the writer and waits for it, or drains itself when there is no
// writer); a nested append that finds the ring full counts the event lost.
#pragma once

#include "trace/recorder/os.hpp"
#include "trace/recorder/threads.hpp"

#include <atomic>
#include <cstdint>

namespace heapkit::trace::recorder {

inline constexpr std::uint8_t ring_absolute = 0xfe;  // the next record is encoded from a zero delta state

extern std::atomic<std::uint64_t> global_seq;  // the next sequence number of the process
extern std::uint64_t time_base_ns;             // coarse clock at the process's start

// Waits until s's ring has `bytes` free (the caller is not mid-append); false: gave up (counted lost by the caller).
bool make_room(slot& s, std::size_t bytes) noexcept;
// Wakes the writer when the ring is over half full (once per drain: `nudged`).
void nudge_writer(slot& s) noexcept;

inline std::uint64_t event_time() noexcept { return coarse_now_ns() - time_base_ns; }

template <class Encode>
bool append_event(slot& s, std::size_t max, Encode&& encode) noexcept {
    ring& r = s.r;
    const bool nested = r.nesting != 0;
    if (!nested && r.free_bytes(2 * max) < 2 * max && !make_room(s, 2 * max)) {
        s.lost.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    const std::uint32_t g = s.gen.load(std::memory_order_relaxed);
    const bool outer = (g & 1) == 0;
    if (outer) s.gen.store(g + 1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    std::uint64_t start, reserved;
    std::uint8_t* p = r.begin(max + 1, start, reserved);
    bool ok = p != nullptr;
    if (ok) {
        // The locked add orders the odd `gen` store before it on x86; elsewhere a fence does.
#if !defined(__x86_64__)
        std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
        const std::uint64_t seq = global_seq.fetch_add(1, std::memory_order_seq_cst);
        const std::uint64_t t = event_time();
        std::uint8_t* q;
        if (nested) {
            r.mark_irregular(reserved);
            encoder fresh;
            *p = ring_absolute;
            q = encode(p + 1, fresh, seq, t);
        } else {
            q = encode(p, s.enc, seq, t);
        }
        r.end(start, reserved, q);
    } else {
        s.lost.fetch_add(1, std::memory_order_relaxed);
    }
    if (outer) s.gen.store(g + 2, std::memory_order_release);
    // The cached `consumed` may be stale (it is refreshed only when room runs short): check the
    // real figure before waking the writer, or every append after a drain would wake it again.
    if (!nested && !s.nudged && r.used_bytes() > ring_bytes / 2 && r.used_bytes_now() > ring_bytes / 2)
        nudge_writer(s);
    return ok;
}

template <class Encode>
bool append_meta(slot& s, std::size_t max, Encode&& encode) noexcept {
    ring& r = s.r;
    if (r.nesting == 0 && r.free_bytes(2 * max) < 2 * max && !make_room(s, 2 * max)) return false;
    std::uint64_t start, reserved;
    std::uint8_t* p = r.begin(max, start, reserved);
    if (p == nullptr) return false;
    r.end(start, reserved, encode(p));
    return true;
}

}  // namespace heapkit::trace::recorder
