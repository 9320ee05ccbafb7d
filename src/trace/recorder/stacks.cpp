// stacks: unwinding with libunwind and the stack trie. See stacks.hpp.
#include "trace/recorder/stacks.hpp"

#include "trace/recorder/append.hpp"
#include "trace/recorder/inner.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/session.hpp"
#include "trace/recorder/spinlock.hpp"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <cerrno>

#include <link.h>

namespace heapkit::trace::recorder {

namespace {

// ---- the trie's table ----
struct entry {
    std::uint64_t parent;  // with ip: the key
    std::uint64_t ip;      // 0: an empty entry (no frame has return address 0)
    std::uint64_t id;
};

spinlock trie_lock;
entry* table = nullptr;     // capacity entries, mmap'ed
std::size_t capacity = 0;   // a power of two
std::size_t used = 0;       // entries in use; <= capacity / 2
std::uint64_t next_id = 1;  // ids are never reused
std::atomic<std::uint64_t> epoch{1};

// Each thread's cache of trie nodes it has looked up: direct-mapped, no lock.
// Mapped at the thread's first miss; emptied when `epoch` moves.
struct node_cache {
    std::uint64_t epoch;
    struct line {
        std::uint64_t parent, ip, id;  // ip 0: empty
    } lines[4096];
    // The thread's recent stacks, each with where its return addresses were
    // found on the stack (see current_stack).
    struct recent_stack {
        std::uintptr_t frame;  // the interposer's frame address
        std::uint64_t epoch;
        std::uint64_t id;
        std::uint32_t depth;  // 0: empty
        std::uint32_t age;
        std::uintptr_t slot[max_frames];  // innermost first: the address of each return address
        std::uintptr_t ip[max_frames];    // innermost first
    } recent[8];
    std::uint32_t clock;
};

std::size_t hash_key(std::uint64_t parent, std::uint64_t ip) noexcept {
    std::uint64_t h = (ip ^ (parent * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    return static_cast<std::size_t>(h ^ (h >> 32));
}

bool grow() noexcept {
    const std::size_t new_capacity = capacity == 0 ? (1u << 16) : capacity * 2;
    auto* fresh = static_cast<entry*>(map_pages(new_capacity * sizeof(entry)));
    if (fresh == nullptr) return false;
    for (std::size_t i = 0; i < capacity; ++i) {
        const entry& e = table[i];
        if (e.ip == 0) continue;
        std::size_t j = hash_key(e.parent, e.ip) & (new_capacity - 1);
        while (fresh[j].ip != 0) j = (j + 1) & (new_capacity - 1);
        fresh[j] = e;
    }
    if (table != nullptr) unmap_pages(table, capacity * sizeof(entry));
    table = fresh;
    capacity = new_capacity;
    return true;
}

// The node (parent, ip), created when missing (`created` set). 0: out of memory.
std::uint64_t find_or_add(std::uint64_t parent, std::uint64_t ip, bool& created) noexcept {
    created = false;
    if (used + 1 > capacity / 2 && !grow()) return 0;
    std::size_t j = hash_key(parent, ip) & (capacity - 1);
    for (;;) {
        entry& e = table[j];
        if (e.ip == ip && e.parent == parent) return e.id;
        if (e.ip == 0) {
            e = entry{parent, ip, next_id++};
            ++used;
            created = true;
            return e.id;
        }
        j = (j + 1) & (capacity - 1);
    }
}

// ---- unwinders (HEAPKIT_PROFILE_UNWINDER, for measuring them: see stacks.hpp) ----
enum class unwinder { backtrace, step, frame_pointers, none };
unwinder which = unwinder::backtrace;
bool repeats = true;  // the repeated-stack fast path (HEAPKIT_PROFILE_UNWINDER=...,norepeat turns it off)

[[gnu::noinline]] int unwind_step(void** buf, int cap) noexcept {
    unw_context_t ctx;
    unw_cursor_t cursor;
    unw_getcontext(&ctx);
    if (unw_init_local(&cursor, &ctx) != 0) return 0;
    int n = 0;
    while (n < cap && unw_step(&cursor) > 0) {
        unw_word_t ip;
        unw_get_reg(&cursor, UNW_REG_IP, &ip);
        buf[n++] = reinterpret_cast<void*>(ip);
    }
    return n;
}

// Follows saved frame pointers while they look like a stack: increasing, aligned, within 8 MiB.
// Correct only for code built with frame pointers (most distribution libraries are not).
[[gnu::noinline]] int unwind_frame_pointers(void** buf, int cap) noexcept {
    auto* fp = static_cast<std::uintptr_t*>(__builtin_frame_address(0));
    const auto low = reinterpret_cast<std::uintptr_t>(fp);
    int n = 0;
    while (n < cap) {
        const auto at = reinterpret_cast<std::uintptr_t>(fp);
        if (at < low || at - low > (8u << 20) || (at & 7) != 0) break;
        const std::uintptr_t ret = fp[1];
        if (ret < 4096) break;
        buf[n++] = reinterpret_cast<void*>(ret);
        auto* next = reinterpret_cast<std::uintptr_t*>(fp[0]);
        if (next <= fp) break;
        fp = next;
    }
    return n;
}

inline int unwind(void** buf, int cap) noexcept {
    switch (which) {
        case unwinder::backtrace:
            return unw_backtrace(buf, cap);
        case unwinder::step:
            return unwind_step(buf, cap);
        case unwinder::frame_pointers:
            return unwind_frame_pointers(buf, cap);
        case unwinder::none:
            break;
    }
    return 0;
}

}  // namespace

void stacks_choose_unwinder(const char* name) noexcept {
    if (name == nullptr) return;
    if (const char* comma = __builtin_strchr(name, ','); comma != nullptr && __builtin_strcmp(comma, ",norepeat") == 0)
        repeats = false;
    if (__builtin_strncmp(name, "step", 4) == 0)
        which = unwinder::step;
    else if (__builtin_strncmp(name, "fp", 2) == 0)
        which = unwinder::frame_pointers;
    else if (__builtin_strncmp(name, "none", 4) == 0)
        which = unwinder::none;
    else
        which = unwinder::backtrace;
}

void stacks_init() noexcept {
    self_range_init();
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

namespace {

// The bounds of the calling thread's stack: the mapping that holds its stack
// pointer, found once per slot owner (raw reads of /proc/self/maps: no heap,
// so a signal handler's allocation in the meantime is recorded as usual).
bool thread_stack(slot& s) noexcept {
    if (s.stack_hi != 0) return true;
    if (s.stack_tried || s.id == shared_slot_id) return false;
    s.stack_tried = true;
    std::uintptr_t lo, hi;
    const int saved = errno;
    const bool ok = mapping_of(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)), lo, hi);
    errno = saved;
    if (!ok) return false;
    s.stack_lo = lo;
    s.stack_hi = hi;
    return true;
}

// A stack recorded before whose return addresses all still sit where they
// were found, called from an interposer whose frame is at the same address:
// the same call chain (each return address decides its caller's frame
// layout, so the same addresses at the same places are the same frames).
std::uint64_t repeated_stack(slot& s, node_cache* nc, std::uintptr_t frame, std::uint64_t now_epoch) noexcept {
    const std::uintptr_t cfa = frame + 16;                 // x86-64: the frame pointer is 16 below the CFA
    if (cfa <= s.stack_lo || cfa >= s.stack_hi) return 0;  // another stack (a coroutine's, sigaltstack)
    const std::uintptr_t ra0 = *reinterpret_cast<const std::uintptr_t*>(cfa - 8);
    for (node_cache::recent_stack& e : nc->recent) {
        if (e.frame != frame || e.epoch != now_epoch || e.depth == 0 || e.ip[0] != ra0) continue;
        if (e.slot[e.depth - 1] >= s.stack_hi) continue;
        std::uint32_t i = 1;
        while (i < e.depth && *reinterpret_cast<const std::uintptr_t*>(e.slot[i]) == e.ip[i]) ++i;
        if (i != e.depth) continue;
        e.age = ++nc->clock;
        return e.id;
    }
    return 0;
}

// Finds where each return address of the stack just unwound is stored (scanning up the
// stack from the interposer's frame) and keeps it among the thread's recent stacks.
void remember_stack(slot& s, node_cache* nc, std::uintptr_t frame, std::uint64_t now_epoch, std::uint64_t id) noexcept {
    const stack_cache& c = s.cache;
    if (c.depth == 0 || c.depth >= max_frames) return;  // empty, or truncated
    const std::uintptr_t cfa = frame + 16;
    if (cfa <= s.stack_lo || cfa >= s.stack_hi) return;
    node_cache::recent_stack* e = &nc->recent[0];
    for (node_cache::recent_stack& r : nc->recent)
        if (r.depth == 0 || r.age < e->age) e = &r;
    std::uintptr_t at = cfa - 8;
    if (*reinterpret_cast<const std::uintptr_t*>(at) != c.ips[c.depth - 1]) return;
    e->depth = 0;
    e->slot[0] = at;
    e->ip[0] = c.ips[c.depth - 1];
    for (std::uint32_t i = 1; i < c.depth; ++i) {
        const std::uintptr_t want = c.ips[c.depth - 1 - i];
        std::uintptr_t limit = at + 256 * 1024;
        if (limit > s.stack_hi - 8) limit = s.stack_hi - 8;
        std::uintptr_t p = at + 8;
        while (p <= limit && *reinterpret_cast<const std::uintptr_t*>(p) != want) p += 8;
        if (p > limit) return;  // not found (a signal frame's pc, a frame on another stack)
        e->slot[i] = p;
        e->ip[i] = want;
        at = p;
    }
    e->frame = frame;
    e->epoch = now_epoch;
    e->id = id;
    e->age = ++nc->clock;
    e->depth = c.depth;
}

}  // namespace

namespace {

// Unwinds and turns the frames into trie node ids (the thread's previous stack, its node
// cache, then the trie). Leaves the stack in s.cache.
std::uint64_t unwind_and_intern(slot& s) noexcept {
    void* buf[max_frames + 16];
    ++tls_state.unwinding;
    const int n = unwind(buf, static_cast<int>(max_frames + 16));
    --tls_state.unwinding;
    // Drop libunwind's frames and the recorder's (the interposer at the inner
    // end; main_wrapper at the outer end, around main).
    // Ours are only at the ends: the inner ones up to the program's call, and
    // main_wrapper a few frames from the outer end.
    int first = 0;
    while (first < n && !in_self(reinterpret_cast<std::uintptr_t>(buf[first]))) ++first;
    if (first == n) first = 0;  // no frame of ours (the range unknown): keep everything
    while (first < n && in_self(reinterpret_cast<std::uintptr_t>(buf[first]))) ++first;
    int end = n;
    for (int i = n - 1; i >= first && i >= n - 4; --i) {
        if (!in_self(reinterpret_cast<std::uintptr_t>(buf[i]))) continue;
        for (int j = i; j + 1 < end; ++j) buf[j] = buf[j + 1];
        --end;
    }
    int depth = end - first;
    if (depth <= 0) return 0;
    if (depth > static_cast<int>(max_frames)) depth = static_cast<int>(max_frames);
    // Outermost first: o[i] = buf[first + depth - 1 - i].
    stack_cache& c = s.cache;
    const std::uint64_t now_epoch = epoch.load(std::memory_order_acquire);
    std::uint32_t same = 0;
    if (c.epoch == now_epoch) {
        const std::uint32_t limit =
            c.depth < static_cast<std::uint32_t>(depth) ? c.depth : static_cast<std::uint32_t>(depth);
        while (same < limit && c.ips[same] == reinterpret_cast<std::uintptr_t>(buf[first + depth - 1 - same])) ++same;
    } else {
        c.epoch = now_epoch;
    }
    if (same == static_cast<std::uint32_t>(depth) && c.depth == same) return c.ids[same - 1];

    struct made {
        std::uint64_t id, parent, ip;
    };
    made fresh[max_frames];
    std::uint32_t nfresh = 0;
    std::uint64_t parent = same > 0 ? c.ids[same - 1] : 0;
    if (s.nodes == nullptr) s.nodes = map_pages(sizeof(node_cache));
    auto* nc = static_cast<node_cache*>(s.nodes);
    if (nc != nullptr && nc->epoch != now_epoch) {
        __builtin_memset(nc->lines, 0, sizeof nc->lines);
        for (node_cache::recent_stack& r : nc->recent) r.depth = 0;
        nc->epoch = now_epoch;
    }
    bool locked = false;
    for (std::uint32_t i = same; i < static_cast<std::uint32_t>(depth); ++i) {
        const auto ip = reinterpret_cast<std::uintptr_t>(buf[first + depth - 1 - i]);
        node_cache::line* line = nc != nullptr ? &nc->lines[hash_key(parent, ip) & 4095] : nullptr;
        std::uint64_t id;
        if (line != nullptr && line->ip == ip && line->parent == parent) {
            id = line->id;
        } else {
            if (!locked) {
                trie_lock.lock();
                locked = true;
                if (epoch.load(std::memory_order_relaxed) != now_epoch) {
                    // invalidated since we looked: give up on this stack (it carries no frames)
                    trie_lock.unlock();
                    c.depth = 0;
                    return 0;
                }
            }
            bool created;
            id = find_or_add(parent, ip, created);
            if (id == 0) {  // out of memory: the stack ends here
                depth = static_cast<int>(i);
                break;
            }
            if (created) fresh[nfresh++] = made{id, parent, ip};
            if (line != nullptr) *line = node_cache::line{parent, ip, id};
        }
        c.ips[i] = ip;
        c.ids[i] = id;
        parent = id;
    }
    if (locked) trie_lock.unlock();
    c.depth = static_cast<std::uint32_t>(depth);
    for (std::uint32_t i = 0; i < nfresh; ++i) {
        const made& m = fresh[i];
        append_meta(s, small_record_max, [&](std::uint8_t* p) { return encoder::stack_node(p, m.id, m.parent, m.ip); });
    }
    return depth > 0 ? c.ids[depth - 1] : 0;
}

}  // namespace

std::uint64_t current_stack(slot& s, std::uintptr_t frame) noexcept {
    const std::uint64_t now_epoch = epoch.load(std::memory_order_acquire);
    if (s.nodes == nullptr) s.nodes = map_pages(sizeof(node_cache));
    auto* nc = static_cast<node_cache*>(s.nodes);
    const bool repeatable = repeats && frame != 0 && nc != nullptr && thread_stack(s);
    if (repeatable && nc->epoch == now_epoch) {
        if (const std::uint64_t id = repeated_stack(s, nc, frame, now_epoch); id != 0) return id;
    }
    const std::uint64_t id = unwind_and_intern(s);
    if (repeatable && id != 0 && nc->epoch == now_epoch) remember_stack(s, nc, frame, now_epoch, id);
    return id;
}

void stacks_invalidate() noexcept {
    lock_guard g(trie_lock);
    if (table != nullptr) __builtin_memset(table, 0, capacity * sizeof(entry));
    used = 0;
    epoch.fetch_add(1, std::memory_order_release);
    unw_flush_cache(unw_local_addr_space, 0, 0);
}

void stacks_lock() noexcept { trie_lock.lock(); }
void stacks_unlock() noexcept { trie_lock.unlock(); }
void stacks_after_fork() noexcept {
    trie_lock.reset();
    stacks_invalidate();
}

}  // namespace heapkit::trace::recorder
