// page: carving, collecting and remote frees. See page.hpp for the design.
#include "page.hpp"

#include "heap.hpp"

#include <sched.h>

namespace heapkit::hkmalloc {

static_assert(address_bits <= tf_count_shift, "thread_free's block count sits above every block address");
static_assert((std::size_t{1} << page_shift_of(page_kind::small)) / min_block <
                  (std::size_t{1} << (64 - tf_count_shift)),
              "thread_free's count holds every block of a page");

namespace {
constexpr std::size_t extend_bytes = 16 * 1024;  // carve at most this much per extension (at least one block)
}

void page_extend(page* pg) noexcept {
    std::uint32_t n = static_cast<std::uint32_t>(extend_bytes / pg->block_size);
    if (n == 0) n = 1;
    if (n > pg->reserved - pg->capacity) n = pg->reserved - pg->capacity;
    // Link the new blocks in address order in front of the (empty) free list.
    char* first = pg->start + std::size_t{pg->capacity} * pg->block_size;
    char* b = first;
    for (std::uint32_t i = 1; i < n; ++i, b += pg->block_size) {
        reinterpret_cast<block*>(b)->next = reinterpret_cast<block*>(b + pg->block_size);
    }
    reinterpret_cast<block*>(b)->next = pg->free;
    pg->free = reinterpret_cast<block*>(first);
    pg->capacity += n;
    pg->carved.store(pg->capacity * pg->block_size, std::memory_order_relaxed);
}

std::uint32_t page_collect(page* pg) noexcept {
    std::uint32_t remote = 0;
    std::uintptr_t tf = pg->thread_free.load(std::memory_order_relaxed);
    while ((tf & ~tf_state_mask) != 0) {
        if (pg->thread_free.compare_exchange_weak(tf, tf & tf_state_mask, std::memory_order_acquire,
                                                  std::memory_order_relaxed)) {
            block* head = reinterpret_cast<block*>(tf & tf_head_mask);
            remote = static_cast<std::uint32_t>(tf >> tf_count_shift);
            pg->used -= remote;
            if (pg->free == nullptr) {
                pg->free = head;  // the common case (malloc found `free` empty): no walk
                return remote;
            }
            if (pg->local_free == nullptr) {
                pg->local_free = head;
                return remote;
            }
            block* tail = head;  // both lists in use (a purge visiting the page): append local_free
            while (tail->next != nullptr) tail = tail->next;
            tail->next = pg->local_free;
            pg->local_free = head;
            return remote;
        }
    }
    if (pg->free == nullptr) {
        pg->free = pg->local_free;
        pg->local_free = nullptr;
    }
    return remote;
}

void page_free_remote(page* pg, block* b) noexcept {
    std::uintptr_t tf = pg->thread_free.load(std::memory_order_relaxed);
    std::uintptr_t state;
    for (;;) {
        state = tf & tf_state_mask;
        b->next = reinterpret_cast<block*>(tf & tf_head_mask);
        const std::uintptr_t next_state = state == tf_notify ? tf_notifying : state;
        const std::uintptr_t count = (tf & ~(tf_head_mask | tf_state_mask)) + tf_one;
        if (pg->thread_free.compare_exchange_weak(tf, count | reinterpret_cast<std::uintptr_t>(b) | next_state,
                                                  std::memory_order_acq_rel, std::memory_order_relaxed)) {
            break;
        }
    }
    if (state != tf_notify) return;
    // We took the notify: tell the owner, then end the notifying state.
    heap_notify_revisit(pg);
    tf = pg->thread_free.load(std::memory_order_relaxed);
    while (!pg->thread_free.compare_exchange_weak(tf, (tf & ~tf_state_mask) | tf_none, std::memory_order_release,
                                                  std::memory_order_relaxed)) {
    }
}

void page_clear_notify(page* pg) noexcept {
    std::uintptr_t tf = pg->thread_free.load(std::memory_order_acquire);
    for (;;) {
        if ((tf & tf_state_mask) == tf_notifying) {
            ::sched_yield();
            tf = pg->thread_free.load(std::memory_order_acquire);
            continue;
        }
        if ((tf & tf_state_mask) == tf_none) return;
        if (pg->thread_free.compare_exchange_weak(tf, tf & ~tf_state_mask, std::memory_order_acq_rel,
                                                  std::memory_order_acquire)) {
            return;
        }
    }
}

bool page_set_notify(page* pg) noexcept {
    std::uintptr_t expected = tf_none;
    for (;;) {
        if (pg->thread_free.compare_exchange_weak(expected, tf_notify, std::memory_order_acq_rel,
                                                  std::memory_order_acquire)) {
            return true;
        }
        if (expected == tf_notifying) {  // a remote thread is still finishing an earlier notify
            ::sched_yield();
            expected = tf_none;
            continue;
        }
        if (expected == tf_notify) return true;
        if ((expected & ~tf_state_mask) != 0) return false;  // remote frees pending
        expected = tf_none;
    }
}

}  // namespace heapkit::hkmalloc
