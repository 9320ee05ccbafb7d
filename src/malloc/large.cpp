// large (huge) blocks mapped directly. See large.hpp.
#include "large.hpp"

#include "options.hpp"
#include "report.hpp"

#include <heapkit/layout.hpp>
#include <heapkit/os/linux.hpp>

#include <cerrno>
#include <cstdint>
#include <new>

namespace heapkit::hkmalloc {
namespace {
using os = heapkit::os::native;
constexpr std::size_t huge_granule = 64 * 1024;  // mapping sizes are rounded to this
constexpr std::size_t max_request = std::size_t{1} << 46;
}  // namespace

void* huge_alloc(std::size_t size, std::size_t align) noexcept {
    if (align < 16) align = 16;
    if (size > max_request || align > max_request) {
        errno = ENOMEM;
        return nullptr;
    }
    void* base;
    std::size_t total;
    segment* seg;
    char* user;
    std::uint8_t reg_value;
    if (align < segment_size) {
        const std::size_t offset = align_up(segment_header_size, align);
        total = align_up(offset + (size == 0 ? 1 : size), huge_granule);
        base = os::map(total, segment_size);
        if (base == nullptr) return nullptr;
        seg = static_cast<segment*>(base);
        user = static_cast<char*>(base) + offset;
        reg_value = 1;
    } else {
        total = align_up(align + (size == 0 ? 1 : size), huge_granule);
        base = os::map(total, align);
        if (base == nullptr) return nullptr;
        user = static_cast<char*>(base) + align;
        seg = reinterpret_cast<segment*>(user - segment_size);
        reg_value = 2;
    }
    if (get_options().huge_pages && total >= 2 * segment_size) os::advise_huge(base, total, true);
    new (seg) segment();
    seg->kind = page_kind::huge;
    seg->page_shift = segment_shift;
    seg->page_count = 0;
    seg->map_base = base;
    seg->map_size = total;
    seg->huge_block = user;
    seg->pages[0].flags.store(page_huge, std::memory_order_relaxed);
    seg->pages[1].flags.store(page_huge, std::memory_order_relaxed);
    if (!registry_set(user, reg_value)) {
        os::release(base, total);
        errno = ENOMEM;
        return nullptr;
    }
    segment_count_mapped(static_cast<std::ptrdiff_t>(total));
    return user;
}

void huge_free(segment* seg, void* p, const char* op) noexcept {
    if (p != seg->huge_block) {
        const char* b = seg->huge_block;
        if (static_cast<char*>(p) > b && static_cast<char*>(p) < b + huge_usable(seg, b)) {
            report_not_block_start(op, p, b);
        }
        report_foreign(op, p);
    }
    registry_set(p, 0);
    segment_count_mapped(-static_cast<std::ptrdiff_t>(seg->map_size));
    os::release(seg->map_base, seg->map_size);
}

std::size_t huge_usable(const segment* seg, const void* p) noexcept {
    return static_cast<std::size_t>(static_cast<const char*>(seg->map_base) + seg->map_size -
                                    static_cast<const char*>(p));
}

}  // namespace heapkit::hkmalloc
