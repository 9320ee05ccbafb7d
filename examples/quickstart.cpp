// quickstart: the README's first program. A counting allocator serves every
// operator new; a checked layout; a vector in whole OS pages; a pmr vector
// over heapkit::system; a Box::new_in. Returns 0 when all of it works.
#include <heapkit/heapkit.hpp>
#include <cstdio>
#include <memory_resource>
#include <vector>

static heapkit::counting<heapkit::system> counter;
HEAPKIT_GLOBAL_ALLOCATOR(counter);

int main() {
    auto bad = heapkit::layout::from(24, 3);            // 3 is not a power of two
    auto good = heapkit::layout::from(24, 8);
    if (bad || !good || good->size() != 24 || good->align() != 8) return 1;

    auto before = counter.snapshot();
    std::vector<int>* v = new std::vector<int>(1000, 7);   // served by `counter`
    auto after = counter.snapshot();
    delete v;
    std::printf("new served %zu bytes\n", after.bytes_allocated - before.bytes_allocated);

    heapkit::pages os;
    heapkit::std_allocator<int, heapkit::pages> in_pages(os);
    heapkit::vector<int, heapkit::pages> w(in_pages);
    w.assign(4096, 1);

    heapkit::memory_resource<heapkit::system> res;
    std::pmr::vector<int> p(&res);
    p.assign(100, 2);

    auto box = heapkit::make_unique_in<int>(os, 42);
    return *box == 42 && w.size() == 4096 && p.size() == 100 ? 0 : 1;
}
