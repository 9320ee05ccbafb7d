// stacks: unwinding with libunwind and the stack trie. See stacks.hpp.
#include "trace/recorder/stacks.hpp"

#include "trace/recorder/append.hpp"
#include "trace/recorder/inner.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/spinlock.hpp"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

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
entry* table = nullptr;         // capacity entries, mmap'ed
std::size_t capacity = 0;       // a power of two
std::size_t used = 0;           // entries in use; <= capacity / 2
std::uint64_t next_id = 1;      // ids are never reused
std::atomic<std::uint64_t> epoch{1};

// Each thread's cache of trie nodes it has looked up: direct-mapped, no lock.
// Mapped at the thread's first miss; emptied when `epoch` moves.
struct node_cache {
    std::uint64_t epoch;
    struct line {
        std::uint64_t parent, ip, id;  // ip 0: empty
    } lines[4096];
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
    case unwinder::backtrace: return unw_backtrace(buf, cap);
    case unwinder::step: return unwind_step(buf, cap);
    case unwinder::frame_pointers: return unwind_frame_pointers(buf, cap);
    case unwinder::none: break;
    }
    return 0;
}

}  // namespace

void stacks_choose_unwinder(const char* name) noexcept {
    if (name == nullptr) return;
    if (__builtin_strcmp(name, "step") == 0) which = unwinder::step;
    else if (__builtin_strcmp(name, "fp") == 0) which = unwinder::frame_pointers;
    else if (__builtin_strcmp(name, "none") == 0) which = unwinder::none;
    else which = unwinder::backtrace;
}

void stacks_init() noexcept {
    self_range_init();
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

std::uint64_t current_stack(slot& s) noexcept {
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
        const std::uint32_t limit = c.depth < static_cast<std::uint32_t>(depth) ? c.depth : static_cast<std::uint32_t>(depth);
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
