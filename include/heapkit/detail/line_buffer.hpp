// line_buffer: formats text and numbers into a fixed buffer on the stack and
// writes it to a file descriptor with write(2). It never allocates, so the
// error hook, tracing and fatal diagnostics can use it from inside an
// allocator, before main and after the heap is corrupt.
//
// Invariant: len_ <= Capacity; text past the capacity is dropped and the line
// ends with "..." so a truncated line is visible as such.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <unistd.h>

namespace heapkit::detail {

template <std::size_t Capacity = 256>
class line_buffer {
public:
    line_buffer& text(std::string_view s) noexcept {
        for (char c : s) put(c);
        return *this;
    }
    line_buffer& dec(std::uint64_t v) noexcept {
        char digits[20];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0) put(digits[--n]);
        return *this;
    }
    line_buffer& hex(std::uint64_t v) noexcept {
        text("0x");
        char digits[16];
        int n = 0;
        do {
            digits[n++] = "0123456789abcdef"[v & 15];
            v >>= 4;
        } while (v != 0);
        while (n > 0) put(digits[--n]);
        return *this;
    }
    line_buffer& ptr(const void* p) noexcept { return hex(reinterpret_cast<std::uintptr_t>(p)); }

    std::string_view view() const noexcept { return {buf_, len_}; }

    // Writes the buffer to fd, retrying on short writes and EINTR. Returns false on error.
    bool write_to(int fd) const noexcept {
        std::size_t done = 0;
        while (done < len_) {
            ssize_t n = ::write(fd, buf_ + done, len_ - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

private:
    void put(char c) noexcept {
        if (len_ < Capacity) {
            buf_[len_++] = c;
        } else if (!truncated_) {
            truncated_ = true;
            std::memcpy(buf_ + Capacity - 4, "...\n", 4);
        }
    }

    char buf_[Capacity];
    std::size_t len_ = 0;     // <= Capacity
    bool truncated_ = false;  // set once text was dropped
};

}  // namespace heapkit::detail
