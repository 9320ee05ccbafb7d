// Bridges from heapkit allocators to the standard library: the C++ spelling
// of Rust's Vec::new_in and Box::new_in.
//
//   heapkit::std_allocator<T, A>   an Allocator that standard containers accept; it
//                                  refers to an A (it does not own it)
//   heapkit::vector<T, A> ...      container aliases over std_allocator
//   heapkit::memory_resource<A>    a std::pmr::memory_resource that owns an A
//   heapkit::make_unique_in<T>(a, args...)  an owning pointer that frees into a
//
// This is the layer where out-of-memory turns into std::bad_alloc, because
// that is what the standard library expects of its allocators.
#pragma once

#include <heapkit/allocator.hpp>

#include <cstddef>
#include <deque>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <new>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace heapkit {

// A standard Allocator that takes its memory from the heapkit allocator `A`
// it refers to. Copies refer to the same A and compare equal; the reference
// travels with a container on copy and move assignment and on swap, so a
// block is always freed into the allocator that made it.
template <class T, allocator A>
class std_allocator {
public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;

    constexpr explicit std_allocator(A& a) noexcept : a_(&a) {}
    template <class U>
    constexpr std_allocator(const std_allocator<U, A>& other) noexcept : a_(&other.resource()) {}

    A& resource() const noexcept { return *a_; }

    [[nodiscard]] T* allocate(std::size_t n) {
        const auto l = layout::array<T>(n);
        if (!l) throw std::bad_array_new_length();
        memory_block b = a_->allocate(*l);
        if (!b) throw std::bad_alloc();
        return static_cast<T*>(b.ptr);
    }

    void deallocate(T* p, std::size_t n) noexcept { a_->deallocate(p, *layout::array<T>(n)); }

    template <class U>
    friend bool operator==(const std_allocator& x, const std_allocator<U, A>& y) noexcept {
        return &x.resource() == &y.resource();
    }

private:
    A* a_;  // never null
};

template <class T, allocator A>
using vector = std::vector<T, std_allocator<T, A>>;
template <class T, allocator A>
using deque = std::deque<T, std_allocator<T, A>>;
template <class T, allocator A>
using list = std::list<T, std_allocator<T, A>>;
template <class T, allocator A>
using forward_list = std::forward_list<T, std_allocator<T, A>>;
template <class K, class V, allocator A, class Compare = std::less<K>>
using map = std::map<K, V, Compare, std_allocator<std::pair<const K, V>, A>>;
template <class K, allocator A, class Compare = std::less<K>>
using set = std::set<K, Compare, std_allocator<K, A>>;
template <class K, class V, allocator A, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
using unordered_map = std::unordered_map<K, V, Hash, Eq, std_allocator<std::pair<const K, V>, A>>;
template <class K, allocator A, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
using unordered_set = std::unordered_set<K, Hash, Eq, std_allocator<K, A>>;
template <allocator A>
using string = std::basic_string<char, std::char_traits<char>, std_allocator<char, A>>;

// A std::pmr::memory_resource that owns a heapkit allocator A and serves
// every pmr container given its address. Two resources are equal only when
// they are the same object.
template <allocator A>
class memory_resource final : public std::pmr::memory_resource {
public:
    memory_resource() = default;
    template <class... Args>
        requires(sizeof...(Args) > 0 && std::constructible_from<A, Args...>)
    explicit memory_resource(std::in_place_t, Args&&... args) : a_(std::forward<Args>(args)...) {}

    A& allocator() noexcept { return a_; }
    const A& allocator() const noexcept { return a_; }

private:
    void* do_allocate(std::size_t bytes, std::size_t align) override {
        const auto l = layout::from(bytes, align);
        if (!l) throw std::bad_alloc();
        memory_block b = a_.allocate(*l);
        if (!b) throw std::bad_alloc();
        return b.ptr;
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
        a_.deallocate(p, layout::from_unchecked(bytes, align));
    }
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

    A a_{};
};

// Destroys a T and frees its storage into the allocator it came from.
template <class T, allocator A>
class deleter_in {
public:
    constexpr explicit deleter_in(A& a) noexcept : a_(&a) {}
    void operator()(T* p) const noexcept {
        p->~T();
        a_->deallocate(p, layout::of<T>());
    }
    A& resource() const noexcept { return *a_; }

private:
    A* a_;  // never null
};

// An owning pointer whose T lives in a heapkit allocator: Box<T, A>.
template <class T, allocator A>
using unique_in = std::unique_ptr<T, deleter_in<T, A>>;

namespace detail {
// Constructs a T in storage from `a`; nullptr when `a` is out of memory. If
// T's constructor throws, the storage goes back to `a` and the exception on.
template <class T, allocator A, class... Args>
T* new_in(A& a, Args&&... args) {
    memory_block b = a.allocate(layout::of<T>());
    if (!b) return nullptr;
    try {
        return ::new (b.ptr) T(std::forward<Args>(args)...);
    } catch (...) {
        a.deallocate(b.ptr, layout::of<T>());
        throw;
    }
}
}  // namespace detail

// Constructs a T in memory from `a` and returns the owning pointer
// (Box::new_in); throws std::bad_alloc when `a` is out of memory.
template <class T, allocator A, class... Args>
    requires(!std::is_array_v<T>)
unique_in<T, A> make_unique_in(A& a, Args&&... args) {
    T* p = detail::new_in<T>(a, std::forward<Args>(args)...);
    if (p == nullptr) throw std::bad_alloc();
    return unique_in<T, A>(p, deleter_in<T, A>(a));
}

// As make_unique_in, but returns an empty pointer instead of throwing when `a`
// is out of memory (Box::try_new_in).
template <class T, allocator A, class... Args>
    requires(!std::is_array_v<T>)
unique_in<T, A> try_make_unique_in(A& a, Args&&... args) {
    return unique_in<T, A>(detail::new_in<T>(a, std::forward<Args>(args)...), deleter_in<T, A>(a));
}

}  // namespace heapkit
