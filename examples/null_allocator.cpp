// null_allocator: the post's NullAllocator, registered for operator new only.
//
//   static heapkit::null none;          // every allocation fails
//   HEAPKIT_GLOBAL_ALLOCATOR(none);     // every operator new / delete goes to `none`
//
// What happens: the program reaches main, because the C and C++ runtimes
// allocate with malloc, which is still glibc's here. The first `new` fails:
// operator new finds no std::new_handler and throws std::bad_alloc (the
// exception object comes from malloc, so throwing works). Caught, the program
// goes on; a short std::string needs no heap at all (small-string buffer).
// Uncaught, std::terminate prints
//
//   terminate called after throwing an instance of 'std::bad_alloc'
//     what():  std::bad_alloc
//
// and aborts: the process ends with SIGABRT. Compare null_allocator_with_malloc.cpp
// (malloc fails too) and null_allocator_abort.cpp (Rust's behaviour).
#include <heapkit/heapkit.hpp>

#include <cstdio>
#include <new>
#include <string>
#include <vector>

static heapkit::null none;
HEAPKIT_GLOBAL_ALLOCATOR(none);

// Keeps the optimiser from removing an allocation whose result is unused.
static void keep(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

int main() {
    std::printf("null allocator under operator new (HEAPKIT_GLOBAL_ALLOCATOR)\n");
    std::printf("main was reached: the runtimes allocate with malloc, which is still glibc's.\n");

    try {
        int* p = new int(42);
        keep(p);
        std::printf("new int(42) returned %p (unexpected)\n", static_cast<void*>(p));
        delete p;
    } catch (const std::bad_alloc& e) {
        std::printf("new int(42): caught std::bad_alloc (what(): %s)\n", e.what());
    }

    std::string small = "short";
    keep(small.data());
    std::printf("std::string(\"short\"): works, %zu chars in the string's own buffer, no heap\n", small.size());

    std::printf("next: std::vector<int>{1, 2, 3} with no try/catch around it\n");
    std::fflush(stdout);  // abort() does not flush stdio
    std::vector<int> v{1, 2, 3};
    keep(v.data());
    std::printf("the vector was built (unexpected)\n");
    return 0;
}
