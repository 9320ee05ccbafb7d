// Test helpers for allocators that serve from a caller's buffer:
// aligned_buffer owns aligned memory; on_buffer<A, Bytes> is an A built over
// its own buffer of Bytes bytes (the buffer is constructed first and outlives
// the allocator), so it can be made with std::make_unique like any other.
//
//   HEAPKIT_CONFORMANCE(free_list_buffer, heapkit::testing::on_buffer<heapkit::free_list<>, 16 << 20>);
#pragma once

#include <cstddef>
#include <new>
#include <span>

namespace heapkit::testing {

class aligned_buffer {
public:
    explicit aligned_buffer(std::size_t bytes, std::size_t align = std::size_t{1} << 16)
        : data_(static_cast<std::byte*>(::operator new(bytes, std::align_val_t{align}))), size_(bytes), align_(align) {}
    aligned_buffer(const aligned_buffer&) = delete;
    aligned_buffer& operator=(const aligned_buffer&) = delete;
    ~aligned_buffer() { ::operator delete(data_, std::align_val_t{align_}); }

    std::span<std::byte> span() const { return {data_, size_}; }

private:
    std::byte* data_;    // aligned to align_, size_ bytes
    std::size_t size_;
    std::size_t align_;  // a power of two
};

template <class A, std::size_t Bytes>
class on_buffer : private aligned_buffer, public A {
public:
    on_buffer() : aligned_buffer(Bytes), A(aligned_buffer::span()) {}
    std::span<std::byte> buffer() const { return aligned_buffer::span(); }
};

}  // namespace heapkit::testing
