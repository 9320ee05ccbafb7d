// segment: mapping, registering and releasing segments. See segment.hpp.
#include "segment.hpp"

#include "options.hpp"
#include "os_memory.hpp"
#include "report.hpp"

#include <heapkit/os/linux.hpp>

#include <cerrno>
#include <new>

namespace heapkit::hkmalloc {
namespace {

using os = heapkit::os::native;

constexpr std::size_t registry_bytes = std::size_t{1} << (address_bits - segment_shift);  // 32 MiB

constinit std::atomic<std::size_t> g_mapped{0};
constinit std::atomic<std::size_t> g_mapped_peak{0};

std::atomic<std::uint8_t>* registry_get() noexcept {
    std::atomic<std::uint8_t>* reg = registry.load(std::memory_order_acquire);
    if (reg != nullptr) return reg;
    // Mapped without reserve: untouched pages read as zero and cost nothing.
    void* m = os_map(registry_bytes, 0);
    if (m == nullptr) return nullptr;
    auto* fresh = static_cast<std::atomic<std::uint8_t>*>(m);
    if (registry.compare_exchange_strong(reg, fresh, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return fresh;
    }
    os::release(m, registry_bytes);  // another thread won the race
    return reg;
}

}  // namespace

bool registry_set(const void* p, std::uint8_t value) noexcept {
    std::atomic<std::uint8_t>* reg = registry_get();
    if (reg == nullptr) return false;
    reg[reinterpret_cast<std::uintptr_t>(p) >> segment_shift].store(value, std::memory_order_release);
    return true;
}

void segment_page_area(segment* seg, unsigned i, char** start, char** end) noexcept {
    char* base = reinterpret_cast<char*>(seg);
    *start = base + (std::size_t{i} << seg->page_shift);
    *end = *start + (std::size_t{1} << seg->page_shift);
    if (i == 0) *start = base + segment_header_size;
}

segment* segment_alloc(page_kind kind, heap* h) noexcept {
    void* m = os_map(segment_size, segment_size);  // gives back what heapkit holds and retries first
    if (m == nullptr) return nullptr;
    if (get_options().huge_pages) os::advise_huge(m, segment_size, true);
    segment* seg = new (m) segment();
    seg->kind = kind;
    seg->page_shift = static_cast<std::uint8_t>(page_shift_of(kind));
    seg->page_count = static_cast<std::uint32_t>(segment_size >> seg->page_shift);
    for (unsigned i = 0; i < seg->page_count; ++i) seg->pages[i].index = static_cast<std::uint16_t>(i);
    seg->owner.store(h, std::memory_order_relaxed);
    if (!registry_set(seg, 1)) {
        os::release(m, segment_size);
        errno = ENOMEM;
        return nullptr;
    }
    segment_count_mapped(static_cast<std::ptrdiff_t>(segment_size));
    return seg;
}

void segment_release(segment* seg) noexcept {
    registry_set(seg, 0);
    segment_count_mapped(-static_cast<std::ptrdiff_t>(segment_size));
    os::release(seg, segment_size);
}

std::size_t segment_mapped_bytes() noexcept { return g_mapped.load(std::memory_order_relaxed); }
std::size_t segment_mapped_peak() noexcept { return g_mapped_peak.load(std::memory_order_relaxed); }

void segment_count_mapped(std::ptrdiff_t delta) noexcept {
    const std::size_t now = g_mapped.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed) +
                            static_cast<std::size_t>(delta);
    std::size_t peak = g_mapped_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_mapped_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}

}  // namespace heapkit::hkmalloc
