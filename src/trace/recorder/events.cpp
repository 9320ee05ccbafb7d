// events: sampling, stacks and the records of interposed calls. See events.hpp.
#include "trace/recorder/events.hpp"

#include "trace/recorder/append.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/stacks.hpp"
#include "trace/recorder/writer.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

namespace heapkit::trace::recorder {
namespace {

// Keeps errno and counts the thread's recorder depth for the duration of a record_* call.
struct recording_scope {
    thread_state& t;
    int saved_errno;
    explicit recording_scope(thread_state& ts) noexcept : t(ts), saved_errno(errno) { ++t.recording; }
    ~recording_scope() {
        --t.recording;
        errno = saved_errno;
    }
    bool nested() const noexcept { return t.recording > 1; }
};

// Exponential intervals with mean `rate` bytes (a Poisson process over the bytes allocated).
std::int64_t next_interval(thread_state& t) noexcept {
    if (t.rng == 0) t.rng = static_cast<std::uint64_t>(current_tid()) * 0x9e3779b97f4a7c15ull + coarse_now_ns() + 1;
    t.rng ^= t.rng << 13;
    t.rng ^= t.rng >> 7;
    t.rng ^= t.rng << 17;
    const double u = (static_cast<double>(t.rng >> 11) + 1.0) / 9007199254740993.0;  // (0, 1]
    const double v = -std::log(u) * static_cast<double>(opts.sample_rate);
    return static_cast<std::int64_t>(v) + 1;
}

// Whether an allocation of `size` bytes is sampled (always, when sampling is off).
bool sampled(thread_state& t, std::size_t size) noexcept {
    if (opts.sample_rate == 0) return true;
    t.sample_left -= static_cast<std::int64_t>(size);
    if (t.sample_left > 0) return false;
    t.sample_left = next_interval(t);
    return true;
}

// The slot and stack of an event; s == nullptr: nowhere to record it.
struct where {
    slot* s;
    std::uint64_t stack;
};

where locate(const recording_scope& scope, bool with_stack, std::uintptr_t frame = 0) noexcept {
    ensure_prepared();
    if (session_phase.load(std::memory_order_relaxed) == phase::open && !writer_running() && !scope.nested())
        writer_start();
    slot* s = current_slot();
    if (s == nullptr) return {nullptr, 0};
    const std::uint64_t stack = with_stack && !scope.nested() ? current_stack(*s, frame) : 0;
    return {s, stack};
}

template <class Encode>
void emit(const recording_scope& scope, bool with_stack, std::size_t max, Encode&& encode,
          std::uintptr_t frame = 0) noexcept {
    const where w = locate(scope, with_stack, frame);
    if (w.s == nullptr) return;
    append_event(*w.s, max, [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t t) {
        return encode(p, e, seq, t, w.stack);
    });
    release_slot(w.s);
}

}  // namespace

void ensure_prepared() noexcept {
    if (__builtin_expect(session_phase.load(std::memory_order_acquire) == phase::idle, 0)) session_prepare();
}

void record_alloc(op o, const void* addr, std::size_t size, std::size_t align, std::uintptr_t frame) noexcept {
    thread_state& t = tls_state;
    if (!sampled(t, size)) return;
    recording_scope scope(t);
    emit(
        scope, true, alloc_record_max,
        [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t stack) {
            return e.alloc(p, o, seq, time, reinterpret_cast<std::uintptr_t>(addr), size, align, stack);
        },
        frame);
}

void record_free(op o, const void* addr, std::size_t size, std::size_t align, std::uintptr_t frame) noexcept {
    recording_scope scope(tls_state);
    emit(
        scope, opts.free_stacks, free_record_max,
        [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t stack) {
            return e.free(p, o, seq, time, reinterpret_cast<std::uintptr_t>(addr), size, align, stack);
        },
        frame);
}

void record_realloc(op o, const void* old_addr, const void* new_addr, std::size_t size, std::uintptr_t frame) noexcept {
    recording_scope scope(tls_state);
    emit(
        scope, true, realloc_record_max,
        [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t stack) {
            return e.realloc(p, o, seq, time, reinterpret_cast<std::uintptr_t>(old_addr),
                             reinterpret_cast<std::uintptr_t>(new_addr), size, stack);
        },
        frame);
}

void record_mmap(const void* addr, std::size_t length, int prot, int flags, int fd, std::uintptr_t frame) noexcept {
    recording_scope scope(tls_state);
    emit(
        scope, true, mapping_record_max,
        [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t stack) {
            return e.mmap(p, seq, time, reinterpret_cast<std::uintptr_t>(addr), length,
                          static_cast<std::uint64_t>(prot), static_cast<std::uint64_t>(static_cast<unsigned>(flags)),
                          fd, stack);
        },
        frame);
}

void record_munmap(const void* addr, std::size_t length, std::uintptr_t frame) noexcept {
    recording_scope scope(tls_state);
    emit(
        scope, true, mapping_record_max,
        [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t stack) {
            return e.munmap(p, seq, time, reinterpret_cast<std::uintptr_t>(addr), length, stack);
        },
        frame);
}

void record_mremap(const void* old_addr, std::size_t old_length, const void* new_addr, std::size_t new_length,
                   std::uintptr_t frame) noexcept {
    recording_scope scope(tls_state);
    emit(
        scope, true, mapping_record_max,
        [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t stack) {
            return e.mremap(p, seq, time, reinterpret_cast<std::uintptr_t>(old_addr), old_length,
                            reinterpret_cast<std::uintptr_t>(new_addr), new_length, stack);
        },
        frame);
}

void record_main_start() noexcept {
    recording_scope scope(tls_state);
    emit(scope, false, small_record_max,
         [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t) {
             return e.main_start(p, seq, time);
         });
}

void record_fork(long child_pid, const char* child_trace) noexcept {
    recording_scope scope(tls_state);
    const std::string_view name(child_trace, std::strlen(child_trace));
    emit(scope, false, small_record_max + name.size() + max_varint_bytes,
         [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t) {
             return e.fork(p, seq, time, static_cast<std::uint64_t>(child_pid), name);
         });
}

void record_exec(const char* path) noexcept {
    recording_scope scope(tls_state);
    std::size_t n = std::strlen(path);
    if (n > 4096) n = 4096;
    const std::string_view name(path, n);
    emit(scope, false, small_record_max + name.size() + max_varint_bytes,
         [&](std::uint8_t* p, encoder& e, std::uint64_t seq, std::uint64_t time, std::uint64_t) {
             return e.exec(p, seq, time, name);
         });
}

}  // namespace heapkit::trace::recorder
