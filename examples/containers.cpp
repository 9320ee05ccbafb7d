// containers: Rust's Vec::new_in and Box::new_in, in C++. Standard containers
// take a heapkit allocator through heapkit::std_allocator (or a pmr resource),
// and each allocator reports what it served:
//
//   heapkit::pages os;                                        // whole pages from the OS
//   heapkit::vector<int, heapkit::pages> v{heapkit::std_allocator<int, heapkit::pages>(os)};
//   auto box = heapkit::make_unique_in<Point>(os, 1, 2);      // Box::new_in
//
//   heapkit::memory_resource<heapkit::counting<heapkit::system>> res;
//   std::pmr::vector<std::pmr::string> names(&res);           // every pmr container
//
// Nothing here replaces the global allocator: only the containers given an
// allocator use it.
#include <heapkit/heapkit.hpp>

#include <cstdio>
#include <memory_resource>
#include <string>
#include <vector>

namespace {

struct point {
    int x;
    int y;
};

void print_stats(const char* who, const heapkit::allocator_stats& s) {
    std::printf("%-38s %10zu %7zu %10zu %10zu\n", who, s.live_bytes, s.live_blocks, s.peak_bytes, s.held_bytes);
}

}  // namespace

int main() {
    std::printf("containers: Vec::new_in and Box::new_in in C++\n");
    std::printf("Each container below takes its memory from one heapkit allocator, and the allocator counts it.\n\n");

    heapkit::pages os;
    {
        heapkit::std_allocator<int, heapkit::pages> in_pages(os);
        heapkit::vector<int, heapkit::pages> v(in_pages);
        v.assign(10000, 7);
        auto box = heapkit::make_unique_in<point>(os, point{3, 4});
        std::printf("heapkit::vector<int, heapkit::pages>: %zu ints; make_unique_in<point>: {%d, %d}\n", v.size(),
                    box->x, box->y);

        heapkit::memory_resource<heapkit::counting<heapkit::system>> res;
        {
            std::pmr::vector<std::pmr::string> names(&res);
            for (const char* n : {"system", "pages", "a string long enough to need the heap"}) names.emplace_back(n);
            std::printf("std::pmr::vector<std::pmr::string> over memory_resource<counting<system>>: %zu strings\n\n",
                        names.size());

            std::printf("%-38s %10s %7s %10s %10s\n", "allocator (while the containers live)", "live bytes", "blocks",
                        "peak", "held");
            std::printf("%-38s %10s %7s %10s %10s\n", "-----------------------------------", "----------", "------",
                        "----", "----");
            print_stats("heapkit::pages (vector + box)", os.stats());
            print_stats("counting<system> (pmr vector)", res.allocator().stats());
        }
        const heapkit::counting_snapshot c = res.allocator().snapshot();
        std::printf("\ncounting<system> in total: %zu allocations, %zu deallocations, %zu bytes allocated\n",
                    c.allocations, c.deallocations, c.bytes_allocated);
    }
    const heapkit::allocator_stats after = os.stats();
    std::printf("after the containers are gone: heapkit::pages holds %zu bytes in %zu blocks\n", after.held_bytes,
                after.live_blocks);
    return after.live_blocks == 0 ? 0 : 1;
}
