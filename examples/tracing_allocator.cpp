// tracing_allocator: the post's tracing allocator. heapkit::tracing<A> writes
// one line per call with a single write(2) from a stack buffer, so it never
// allocates and can sit under operator new without recursing (the post's
// println! inside alloc could not):
//
//   static heapkit::tracing<heapkit::system> tracer(-1);   // silent until set_fd
//   HEAPKIT_GLOBAL_ALLOCATOR(tracer);
//
//   tracer.set_fd(1);     // trace to stdout from here ...
//   std::vector<int> v;  v.push_back(1); ...
//   tracer.set_fd(-1);    // ... to here
//
// The lines look like `heapkit: alloc size=20 align=16 -> 0x55d0c8a1f2c0`: the
// size includes the 16-byte header of heapkit's global bridge (heapkit/global.hpp)
// and the alignment is the bridge's minimum, 16.
#include <heapkit/heapkit.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

static heapkit::tracing<heapkit::system> tracer(-1);
HEAPKIT_GLOBAL_ALLOCATOR(tracer);

namespace {

void keep(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

// Prints a step's heading, then traces the step to stdout.
template <class F>
void traced(const char* what, F&& step) {
    std::printf("-- %s\n", what);
    std::fflush(stdout);  // the trace bypasses stdio: flush so the lines keep their order
    tracer.set_fd(1);
    step();
    tracer.set_fd(-1);
}

}  // namespace

int main() {
    std::printf("tracing allocator: every operator new and delete of a small program\n");
    std::printf("heapkit::tracing<heapkit::system> under HEAPKIT_GLOBAL_ALLOCATOR, traced only around each step.\n");
    std::printf("Sizes include the global bridge's 16-byte header per block.\n\n");

    traced("std::vector<int>: push_back x5, then it goes out of scope", [] {
        std::vector<int> v;
        for (int i = 0; i < 5; ++i) v.push_back(i);
        keep(v.data());
    });
    traced("std::string of 40 chars, copied once", [] {
        std::string s(40, 's');
        std::string t = s;
        keep(s.data());
        keep(t.data());
    });
    traced("std::map<int, int>: 3 inserts, then it goes out of scope", [] {
        std::map<int, int> m;
        m[1] = 10;
        m[2] = 20;
        m[3] = 30;
        keep(&m);
    });
    std::printf("\ntracing off: nothing above was printed by an allocating call.\n");
    return 0;
}
