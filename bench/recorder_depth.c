/* recorder_depth DEPTH COUNT: COUNT malloc/free pairs made at call depth
 * DEPTH (noinline recursion), for measuring libheapkit-profile.so's cost per
 * event against the stack depth (docs: the recorder's numbers in its report):
 *   LD_PRELOAD=lib/libheapkit-profile.so HEAPKIT_PROFILE_OUTPUT=/tmp/x.hkt recorder_depth 30 1000000
 * Prints the nanoseconds per pair. Built with frame pointers so that the
 * frame-pointer unwinder can be compared on it. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void* volatile sink;

__attribute__((noinline)) static void leaf(long count) {
    for (long i = 0; i < count; ++i) {
        void* p = malloc((size_t)(16 + (i & 63)));
        sink = p;
        free(p);
    }
}

__attribute__((noinline)) static void descend(int depth, long count) {
    if (depth <= 1) {
        leaf(count);
    } else {
        descend(depth - 1, count);
    }
    __asm__ volatile("" ::: "memory");  /* not a tail call */
}

int main(int argc, char** argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 10;
    long count = argc > 2 ? atol(argv[2]) : 1000000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    descend(depth, count);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("depth %d: %.1f ns per malloc+free\n", depth, ns / (double)count);
    return 0;
}
