// format: the parts of the trace format that are code rather than constants
// (format.hpp): op names, CRC-32 and chunk headers.
#include "trace/format.hpp"

#include <zlib.h>

namespace heapkit::trace {

std::string_view op_name(op o) noexcept {
    switch (o) {
    case op::malloc: return "malloc";
    case op::calloc: return "calloc";
    case op::realloc: return "realloc";
    case op::reallocarray: return "reallocarray";
    case op::free: return "free";
    case op::posix_memalign: return "posix_memalign";
    case op::aligned_alloc: return "aligned_alloc";
    case op::memalign: return "memalign";
    case op::valloc: return "valloc";
    case op::pvalloc: return "pvalloc";
    case op::new_: return "operator new(size_t)";
    case op::new_array: return "operator new[](size_t)";
    case op::new_nothrow: return "operator new(size_t, nothrow_t)";
    case op::new_array_nothrow: return "operator new[](size_t, nothrow_t)";
    case op::new_aligned: return "operator new(size_t, align_val_t)";
    case op::new_array_aligned: return "operator new[](size_t, align_val_t)";
    case op::new_aligned_nothrow: return "operator new(size_t, align_val_t, nothrow_t)";
    case op::new_array_aligned_nothrow: return "operator new[](size_t, align_val_t, nothrow_t)";
    case op::delete_: return "operator delete(void*)";
    case op::delete_array: return "operator delete[](void*)";
    case op::delete_sized: return "operator delete(void*, size_t)";
    case op::delete_array_sized: return "operator delete[](void*, size_t)";
    case op::delete_aligned: return "operator delete(void*, align_val_t)";
    case op::delete_array_aligned: return "operator delete[](void*, align_val_t)";
    case op::delete_sized_aligned: return "operator delete(void*, size_t, align_val_t)";
    case op::delete_array_sized_aligned: return "operator delete[](void*, size_t, align_val_t)";
    case op::delete_nothrow: return "operator delete(void*, nothrow_t)";
    case op::delete_array_nothrow: return "operator delete[](void*, nothrow_t)";
    case op::delete_aligned_nothrow: return "operator delete(void*, align_val_t, nothrow_t)";
    case op::delete_array_aligned_nothrow: return "operator delete[](void*, align_val_t, nothrow_t)";
    case op::free_sized: return "free_sized";
    case op::free_aligned_sized: return "free_aligned_sized";
    case op::count_: break;
    }
    return "unknown";
}

std::uint32_t crc32(std::span<const std::uint8_t> data) noexcept {
    uLong c = ::crc32(0L, Z_NULL, 0);
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    while (n > 0) {  // zlib takes a uInt length
        const uInt step = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
        c = ::crc32(c, p, step);
        p += step;
        n -= step;
    }
    return static_cast<std::uint32_t>(c);
}

chunk_header make_chunk_header(codec c, std::uint32_t thread, std::span<const std::uint8_t> stored,
                               std::uint32_t raw_size, std::uint64_t first_seq) noexcept {
    chunk_header h{};
    h.magic = chunk_magic;
    h.codec = static_cast<std::uint8_t>(c);
    h.thread = thread;
    h.stored_size = static_cast<std::uint32_t>(stored.size());
    h.raw_size = raw_size;
    h.payload_crc = crc32(stored);
    h.first_seq_lo = static_cast<std::uint32_t>(first_seq);
    h.header_crc = crc32({reinterpret_cast<const std::uint8_t*>(&h), offsetof(chunk_header, header_crc)});
    return h;
}

}  // namespace heapkit::trace
