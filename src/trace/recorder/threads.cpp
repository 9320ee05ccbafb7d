// threads: slot table, slot assignment at a thread's first event, and the
// thread's end. See threads.hpp.
#include "trace/recorder/threads.hpp"

#include "trace/recorder/append.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/session.hpp"

#include <sys/prctl.h>

namespace heapkit::trace::recorder {

constinit thread_local thread_state tls_state __attribute__((tls_model("initial-exec")));
constinit slot slot_table[max_slots];
constinit std::atomic<std::uint32_t> slot_high{shared_slot_id + 1};

bool ensure_ring(slot& s) noexcept {
    if (s.r.data != nullptr) return true;
    void* p = map_pages(ring_bytes);
    if (p == nullptr) return false;
    s.r.data = static_cast<std::uint8_t*>(p);
    return true;
}

namespace {

std::atomic<std::uint32_t> next_hint{shared_slot_id + 1};

void write_thread_start(slot& s, std::uint64_t tid, const char* name) noexcept {
    std::string_view n(name);
    append_event(s, small_record_max + n.size() + max_varint_bytes,
                 [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t t) {
                     return e.thread_start(p, seq, t, s.id, tid, n);
                 });
}

// The shared slot, locked (the caller unlocks it with release_slot), or nullptr
// when a signal handler finds it busy (the event is counted lost).
slot* shared_slot(bool nested) noexcept {
    slot& s = slot_table[shared_slot_id];
    if (nested ? !s.shared_lock.try_lock() : (s.shared_lock.lock(), false)) {
        s.lost.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    if (s.state.load(std::memory_order_relaxed) == slot_state::free) {
        s.id = shared_slot_id;
        if (!ensure_ring(s)) {
            s.shared_lock.unlock();
            return nullptr;
        }
        s.state.store(slot_state::live, std::memory_order_release);
        write_thread_start(s, 0, "(threads after their end)");
    }
    return &s;
}

slot* take_slot() noexcept {
    const std::uint32_t hint = next_hint.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < max_slots - 2; ++i) {
        std::uint32_t id = hint + i;
        if (id >= max_slots) id = id - max_slots + shared_slot_id + 1;
        slot& s = slot_table[id];
        slot_state expected = slot_state::free;
        if (s.state.load(std::memory_order_relaxed) != slot_state::free ||
            !s.state.compare_exchange_strong(expected, slot_state::live, std::memory_order_acq_rel))
            continue;
        s.id = id;
        s.stack_lo = s.stack_hi = 0;  // a new owner: its own stack, and no recent stacks of the previous one
        s.stack_tried = false;
        s.cache.depth = 0;
        s.cache.epoch = 0;
        if (s.nodes != nullptr) *static_cast<std::uint64_t*>(s.nodes) = 0;  // node_cache::epoch: stale
        if (!ensure_ring(s)) {
            s.state.store(slot_state::free, std::memory_order_release);
            return nullptr;
        }
        std::uint32_t high = slot_high.load(std::memory_order_relaxed);
        while (high <= id && !slot_high.compare_exchange_weak(high, id + 1)) {
        }
        next_hint.store(id + 1 < max_slots ? id + 1 : shared_slot_id + 1, std::memory_order_relaxed);
        return &s;
    }
    return nullptr;
}

}  // namespace

slot* current_slot() noexcept {
    thread_state& t = tls_state;
    if (__builtin_expect(t.s != nullptr, 1)) return t.s;
    const bool nested = t.recording > 1;
    if (!t.ended && !nested) {
        if (slot* s = take_slot(); s != nullptr) {
            t.s = s;
            char name[17] = {};
            ::prctl(PR_GET_NAME, name, 0, 0, 0);
            write_thread_start(*s, static_cast<std::uint64_t>(current_tid()), name);
            session_thread_started();  // the key whose destructor ends it
            return s;
        }
    }
    return shared_slot(nested);
}

void end_current_thread() noexcept {
    thread_state& t = tls_state;
    slot* s = t.s;
    if (s == nullptr) return;
    ++t.recording;
    append_event(*s, small_record_max, [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time) {
        return e.thread_end(p, seq, time, s->id);
    });
    t.s = nullptr;
    t.ended = true;
    s->state.store(slot_state::ended, std::memory_order_release);
    --t.recording;
}

void threads_after_fork(slot* keep) noexcept {
    const std::uint32_t high = slot_high.load(std::memory_order_relaxed);
    for (std::uint32_t i = shared_slot_id; i < high; ++i) {
        slot& s = slot_table[i];
        s.r.restart();
        s.enc.reset();
        s.wr = decode_state{};
        s.lost.store(0, std::memory_order_relaxed);
        s.gen.store(0, std::memory_order_relaxed);
        s.shared_lock.reset();
        s.cache.depth = 0;
        s.state.store(&s == keep ? slot_state::live : slot_state::free, std::memory_order_relaxed);
    }
}

}  // namespace heapkit::trace::recorder
