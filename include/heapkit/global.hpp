// Global registration: the C++ spelling of Rust's #[global_allocator].
//
//   static heapkit::counting<heapkit::system> counter;
//   HEAPKIT_GLOBAL_ALLOCATOR(counter);              // every operator new/delete
//   HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(counter);  // ... and the malloc family too
//
// Write one of them once in a program, at global scope, after the allocator
// object. The allocator must be thread-safe, constant-initialised (a static
// object whose constructor is constexpr, so it works before main) and
// trivially destructible or otherwise usable after exit.
//
// Block layout. operator delete(void*) and free(void*) are not told the size,
// but heapkit allocators are, so every block carries a 16-byte header just
// before the pointer the program gets:
//
//   base                      user = base + H        (H = max(16, align))
//   │ padding (align > 16) │ size │ tag │ user data ...
//                           └ header ┘
//   tag = (hash(user, size) & ~0xff) | log2(align)
//
// The allocator is asked for layout(H + size, max(align, 16)), so the counts
// a counting<> allocator reports include the header. The tag lets free and
// delete detect a pointer that heapkit did not allocate, or one freed twice
// (the tag is cleared on free), and report it with a clear message and abort
// instead of corrupting the heap. (A parent allocator may overwrite a freed
// block's header, as glibc's free lists do, so a second free may find a tag
// that merely does not match; the message then names both causes.) A sized
// or aligned delete whose size or alignment differs from the allocation's is
// reported the same way.
//
// The check reads the 16 bytes before the pointer it is given: a foreign
// pointer at the very start of a mapping (the first byte of an mmap'ed page
// whose previous page is unmapped) faults there instead of being reported.
//
// operator new follows the standard: on failure it calls std::new_handler
// until one succeeds or none is installed, then throws std::bad_alloc (the
// nothrow forms return nullptr). The malloc family follows glibc: failure
// returns NULL with errno = ENOMEM; realloc(p, 0) frees p and returns NULL;
// posix_memalign leaves *memptr alone on error.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

namespace heapkit::detail::global {

inline constexpr std::size_t min_align = 16;  // malloc's and operator new's alignment on x86-64
inline constexpr std::uint64_t tag_key = 0x9e3779b97f4a7c15ULL;

struct header {
    std::size_t size;   // bytes the program asked for
    std::uint64_t tag;  // see tag_for(); 0 once freed
};
static_assert(sizeof(header) == min_align);

inline std::size_t header_room(std::size_t align) noexcept { return align > min_align ? align : min_align; }

inline unsigned log2_of(std::size_t a) noexcept { return static_cast<unsigned>(__builtin_ctzll(a)); }

inline std::uint64_t tag_for(const void* user, std::size_t size, std::size_t align) noexcept {
    std::uint64_t h = (reinterpret_cast<std::uintptr_t>(user) ^ (size * tag_key)) * tag_key;
    h ^= h >> 29;
    h |= 0x100;  // never zero above the low byte: 0 means "freed"
    return (h & ~std::uint64_t{0xff}) | log2_of(align);
}

inline header* header_of(void* user) noexcept { return static_cast<header*>(user) - 1; }

// The layout of the whole block for a request; false when it overflows.
inline bool block_layout(std::size_t size, std::size_t align, layout* out) noexcept {
    const std::size_t room = header_room(align);
    if (size > SIZE_MAX - room) return false;
    auto l = layout::from(size + room, room);
    if (!l) return false;
    *out = *l;
    return true;
}

// Writes the header for a fresh block and returns the user pointer.
inline void* finish(void* base, std::size_t size, std::size_t align) noexcept {
    void* user = static_cast<char*>(base) + header_room(align);
    *header_of(user) = header{size, tag_for(user, size, align)};
    return user;
}

[[noreturn]] inline void report_bad_pointer(const char* op, const void* p, bool freed) noexcept {
    line_buffer<256> line;
    line.text("heapkit: ").text(op).text(": pointer ").ptr(p);
    // A cleared tag means "freed". But the parent allocator may reuse the
    // header's bytes once the block is freed (glibc's free lists do), so a
    // double free can also show up as a tag that does not match.
    line.text(freed ? " was already freed (double free)\n"
                    : " was not allocated by heapkit, or was already freed "
                      "(foreign pointer, double free or corrupt header)\n");
    (void)line.write_to(2);
    __builtin_trap();
}

[[noreturn]] inline void report_mismatch(const char* what, const void* p, std::size_t given,
                                         std::size_t actual) noexcept {
    line_buffer<256> line;
    line.text("heapkit: operator delete: pointer ").ptr(p).text(" freed with ").text(what).text(" ").dec(given);
    line.text(" but allocated with ").dec(actual).text("\n");
    (void)line.write_to(2);
    __builtin_trap();
}

// The header of a live block, checked; describes it through size/align.
inline header* checked_header(const char* op, void* user, std::size_t* size, std::size_t* align) noexcept {
    if ((reinterpret_cast<std::uintptr_t>(user) & (min_align - 1)) != 0) report_bad_pointer(op, user, false);
    header* h = header_of(user);
    if (h->tag == 0) report_bad_pointer(op, user, true);
    const std::size_t a = std::size_t{1} << (h->tag & 0x3f);
    if (h->tag != tag_for(user, h->size, a)) report_bad_pointer(op, user, false);
    *size = h->size;
    *align = a;
    return h;
}

template <allocator A>
void* allocate(A& a, std::size_t size, std::size_t align, bool zeroed = false) noexcept {
    if (align < min_align) align = min_align;
    layout l = layout::of<char>();
    if (!block_layout(size, align, &l)) return nullptr;
    memory_block b = zeroed ? heapkit::allocate_zeroed(a, l) : a.allocate(l);
    return b ? finish(b.ptr, size, align) : nullptr;
}

// Frees a block whose header was checked: clears the tag, then gives the
// whole block back.
template <allocator A>
void release(A& a, header* h, void* user, std::size_t size, std::size_t align) noexcept {
    h->tag = 0;
    layout l = layout::of<char>();
    block_layout(size, align, &l);
    a.deallocate(static_cast<char*>(user) - header_room(align), l);
}

template <allocator A>
void deallocate(A& a, void* user, const char* op) noexcept {
    std::size_t size, align;
    header* h = checked_header(op, user, &size, &align);
    release(a, h, user, size, align);
}

// operator delete: the header checked once, then the size and alignment the
// sized and aligned forms were given compared with it.
template <allocator A>
void deallocate_checked(A& a, void* user, std::size_t size, std::size_t align) noexcept {
    std::size_t actual_size, actual_align;
    header* h = checked_header("operator delete", user, &actual_size, &actual_align);
    if (size != SIZE_MAX && size != actual_size) report_mismatch("size", user, size, actual_size);
    if (align != 0 && (align < min_align ? min_align : align) != actual_align) {
        report_mismatch("alignment", user, align, actual_align);
    }
    release(a, h, user, actual_size, actual_align);
}

// realloc's core: a new size for a live block, data kept; nullptr on failure (user intact).
template <allocator A>
void* reallocate(A& a, void* user, std::size_t new_size) noexcept {
    std::size_t size, align;
    header* h = checked_header("realloc()", user, &size, &align);
    layout old_l = layout::of<char>(), new_l = layout::of<char>();
    block_layout(size, align, &old_l);
    if (!block_layout(new_size, align, &new_l)) return nullptr;
    const std::uint64_t tag = h->tag;
    h->tag = 0;  // the block may move: its old header must not look live
    memory_block b = heapkit::reallocate(a, static_cast<char*>(user) - header_room(align), old_l, new_l);
    if (!b) {
        h->tag = tag;
        return nullptr;
    }
    return finish(b.ptr, new_size, align);
}

inline std::size_t usable_size(void* user) noexcept {
    std::size_t size, align;
    checked_header("malloc_usable_size()", user, &size, &align);
    return size;
}

// operator new's slow path: the new_handler loop of [new.delete.single], then
// bad_alloc. Opaque to interprocedural analysis on purpose: for an allocator
// that always fails (heapkit::null) GCC 12 at -O3 otherwise infers that
// operator new never returns and drops the code after a new-expression, its
// catch handlers included, so main runs off its end.
#if defined(__clang__)
#define HEAPKIT_DETAIL_OPAQUE [[gnu::noinline]]
#else
#define HEAPKIT_DETAIL_OPAQUE [[gnu::noinline, gnu::noipa]]
#endif
template <allocator A>
HEAPKIT_DETAIL_OPAQUE void* operator_new_slow(A& a, std::size_t size, std::size_t align) {
    for (;;) {
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) throw std::bad_alloc();
        handler();
        if (void* p = allocate(a, size, align)) return p;
    }
}

// operator new: the allocator's answer, or the slow path when it fails.
template <allocator A>
void* operator_new(A& a, std::size_t size, std::size_t align) {
    if (void* p = allocate(a, size, align)) return p;
    return operator_new_slow(a, size, align);
}

template <allocator A>
void* operator_new_nothrow(A& a, std::size_t size, std::size_t align) noexcept {
    try {
        return operator_new(a, size, align);
    } catch (...) {
        return nullptr;
    }
}

// Guards the malloc family against an allocator that calls malloc itself.
inline thread_local int malloc_depth = 0;

struct malloc_scope {
    explicit malloc_scope(const char* op) noexcept {
        if (malloc_depth++ != 0) {
            line_buffer<256> line;
            line.text("heapkit: ").text(op).text(" re-entered: the allocator registered with "
                                                 "HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC calls malloc itself; "
                                                 "build it on heapkit::libc or heapkit::pages instead\n");
            (void)line.write_to(2);
            __builtin_trap();
        }
    }
    ~malloc_scope() { --malloc_depth; }
    malloc_scope(const malloc_scope&) = delete;
    malloc_scope& operator=(const malloc_scope&) = delete;
};

template <allocator A>
void* c_malloc(A& a, std::size_t size, std::size_t align, bool zeroed = false) noexcept {
    malloc_scope scope("malloc()");
    void* p = allocate(a, size, align, zeroed);
    if (p == nullptr) errno = ENOMEM;
    return p;
}

template <allocator A>
void c_free(A& a, void* p) noexcept {
    if (p == nullptr) return;
    const int saved = errno;
    malloc_scope scope("free()");
    deallocate(a, p, "free()");
    errno = saved;
}

template <allocator A>
void* c_calloc(A& a, std::size_t n, std::size_t m) noexcept {
    std::size_t total;
    if (__builtin_mul_overflow(n, m, &total)) {
        errno = ENOMEM;
        return nullptr;
    }
    return c_malloc(a, total, min_align, true);
}

template <allocator A>
void* c_realloc(A& a, void* p, std::size_t size) noexcept {
    if (p == nullptr) return c_malloc(a, size, min_align);
    if (size == 0) {  // glibc: free and return NULL
        c_free(a, p);
        return nullptr;
    }
    malloc_scope scope("realloc()");
    void* q = reallocate(a, p, size);
    if (q == nullptr) errno = ENOMEM;
    return q;
}

template <allocator A>
int c_posix_memalign(A& a, void** out, std::size_t align, std::size_t size) noexcept {
    if (!is_power_of_two(align) || align % sizeof(void*) != 0) return EINVAL;
    const int saved = errno;
    void* p = c_malloc(a, size, align);
    errno = saved;
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}

template <allocator A>
void* c_aligned_alloc(A& a, std::size_t align, std::size_t size) noexcept {
    if (!is_power_of_two(align)) {
        errno = EINVAL;
        return nullptr;
    }
    return c_malloc(a, size, align);
}

// glibc's memalign rounds an alignment that is not a power of two up to the next one.
template <allocator A>
void* c_memalign(A& a, std::size_t align, std::size_t size) noexcept {
    if (align > SIZE_MAX / 2 + 1) {  // no power of two above it: glibc says EINVAL
        errno = EINVAL;
        return nullptr;
    }
    std::size_t al = 1;
    while (al < align) al <<= 1;
    return c_malloc(a, size, al);
}

}  // namespace heapkit::detail::global

#define HEAPKIT_DETAIL_ALIGN(al) static_cast<std::size_t>(al)

// Replaces every replaceable form of operator new and operator delete.
#define HEAPKIT_GLOBAL_ALLOCATOR(obj)                                                                            \
    void* operator new(std::size_t n) { return ::heapkit::detail::global::operator_new(obj, n, 16); }            \
    void* operator new[](std::size_t n) { return ::heapkit::detail::global::operator_new(obj, n, 16); }          \
    void* operator new(std::size_t n, std::align_val_t al) {                                                     \
        return ::heapkit::detail::global::operator_new(obj, n, HEAPKIT_DETAIL_ALIGN(al));                        \
    }                                                                                                            \
    void* operator new[](std::size_t n, std::align_val_t al) {                                                   \
        return ::heapkit::detail::global::operator_new(obj, n, HEAPKIT_DETAIL_ALIGN(al));                        \
    }                                                                                                            \
    void* operator new(std::size_t n, const std::nothrow_t&) noexcept {                                          \
        return ::heapkit::detail::global::operator_new_nothrow(obj, n, 16);                                      \
    }                                                                                                            \
    void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {                                        \
        return ::heapkit::detail::global::operator_new_nothrow(obj, n, 16);                                      \
    }                                                                                                            \
    void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {                     \
        return ::heapkit::detail::global::operator_new_nothrow(obj, n, HEAPKIT_DETAIL_ALIGN(al));                \
    }                                                                                                            \
    void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {                   \
        return ::heapkit::detail::global::operator_new_nothrow(obj, n, HEAPKIT_DETAIL_ALIGN(al));                \
    }                                                                                                            \
    void operator delete(void* p) noexcept {                                                                     \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, 0);                               \
    }                                                                                                            \
    void operator delete[](void* p) noexcept {                                                                   \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, 0);                               \
    }                                                                                                            \
    void operator delete(void* p, std::align_val_t al) noexcept {                                                \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, HEAPKIT_DETAIL_ALIGN(al));        \
    }                                                                                                            \
    void operator delete[](void* p, std::align_val_t al) noexcept {                                              \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, HEAPKIT_DETAIL_ALIGN(al));        \
    }                                                                                                            \
    void operator delete(void* p, std::size_t n) noexcept {                                                      \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, n, 0);                                      \
    }                                                                                                            \
    void operator delete[](void* p, std::size_t n) noexcept {                                                    \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, n, 0);                                      \
    }                                                                                                            \
    void operator delete(void* p, std::size_t n, std::align_val_t al) noexcept {                                 \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, n, HEAPKIT_DETAIL_ALIGN(al));               \
    }                                                                                                            \
    void operator delete[](void* p, std::size_t n, std::align_val_t al) noexcept {                               \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, n, HEAPKIT_DETAIL_ALIGN(al));               \
    }                                                                                                            \
    void operator delete(void* p, const std::nothrow_t&) noexcept {                                              \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, 0);                               \
    }                                                                                                            \
    void operator delete[](void* p, const std::nothrow_t&) noexcept {                                            \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, 0);                               \
    }                                                                                                            \
    void operator delete(void* p, std::align_val_t al, const std::nothrow_t&) noexcept {                         \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, HEAPKIT_DETAIL_ALIGN(al));        \
    }                                                                                                            \
    void operator delete[](void* p, std::align_val_t al, const std::nothrow_t&) noexcept {                       \
        if (p) ::heapkit::detail::global::deallocate_checked(obj, p, SIZE_MAX, HEAPKIT_DETAIL_ALIGN(al));        \
    }                                                                                                            \
    static_assert(::heapkit::allocator<std::remove_cvref_t<decltype(obj)>>,                                      \
                  "HEAPKIT_GLOBAL_ALLOCATOR needs an object of a heapkit allocator type")

// As HEAPKIT_GLOBAL_ALLOCATOR, and the program's malloc family too, so that
// what the C and C++ runtimes allocate before main goes to `obj` as well.
// `obj` must not itself call malloc (use heapkit::libc, not heapkit::system,
// under it); a re-entrant call is reported and aborts.
#define HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(obj)                                                                \
    extern "C" {                                                                                                 \
    void* malloc(std::size_t n) noexcept { return ::heapkit::detail::global::c_malloc(obj, n, 16); }            \
    void free(void* p) noexcept { ::heapkit::detail::global::c_free(obj, p); }                                   \
    void* calloc(std::size_t n, std::size_t m) noexcept { return ::heapkit::detail::global::c_calloc(obj, n, m); } \
    void* realloc(void* p, std::size_t n) noexcept { return ::heapkit::detail::global::c_realloc(obj, p, n); }   \
    void* reallocarray(void* p, std::size_t n, std::size_t m) noexcept {                                         \
        std::size_t total;                                                                                       \
        if (__builtin_mul_overflow(n, m, &total)) {                                                              \
            errno = ENOMEM;                                                                                      \
            return nullptr;                                                                                      \
        }                                                                                                        \
        return ::heapkit::detail::global::c_realloc(obj, p, total);                                              \
    }                                                                                                            \
    int posix_memalign(void** out, std::size_t al, std::size_t n) noexcept {                                     \
        return ::heapkit::detail::global::c_posix_memalign(obj, out, al, n);                                     \
    }                                                                                                            \
    void* aligned_alloc(std::size_t al, std::size_t n) noexcept {                                                \
        return ::heapkit::detail::global::c_aligned_alloc(obj, al, n);                                           \
    }                                                                                                            \
    void* memalign(std::size_t al, std::size_t n) noexcept {                                                     \
        return ::heapkit::detail::global::c_memalign(obj, al, n);                                                \
    }                                                                                                            \
    void* valloc(std::size_t n) noexcept { return ::heapkit::detail::global::c_malloc(obj, n, 4096); }           \
    void* pvalloc(std::size_t n) noexcept {                                                                      \
        return ::heapkit::detail::global::c_malloc(                                                              \
            obj, n == 0 ? 4096 : (n > SIZE_MAX - 4095 ? SIZE_MAX : (n + 4095) & ~std::size_t{4095}), 4096);       \
    }                                                                                                            \
    std::size_t malloc_usable_size(void* p) noexcept {                                                           \
        return p ? ::heapkit::detail::global::usable_size(p) : 0;                                                \
    }                                                                                                            \
    }                                                                                                            \
    HEAPKIT_GLOBAL_ALLOCATOR(obj)
