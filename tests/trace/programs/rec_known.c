/* rec_known: a C program whose allocations the recorder's tests know exactly.
 * Prints one line per call: "<op> <size> <align> <result> [<old>]" (hex addresses),
 * so that the test can find each in the trace. Built with -fno-builtin. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    void* a = malloc(100);
    printf("malloc 100 0 %p\n", a);
    void* c = calloc(10, 20);
    printf("calloc 200 0 %p\n", c);
    void* r = malloc(16);
    printf("malloc 16 0 %p\n", r);
    for (size_t n = 32; n <= 4096; n *= 2) {
        void* q = realloc(r, n);
        printf("realloc %zu 0 %p %p\n", n, q, r);
        r = q;
    }
    void* al = aligned_alloc(64, 128);
    printf("aligned_alloc 128 64 %p\n", al);
    void* pm = NULL;
    if (posix_memalign(&pm, 256, 300) != 0) return 1;
    printf("posix_memalign 300 256 %p\n", pm);
    void* m = memalign(128, 50);
    printf("memalign 50 128 %p\n", m);
    void* v = valloc(10);
    printf("valloc 10 0 %p\n", v);
    void* ra = reallocarray(NULL, 7, 9);
    printf("reallocarray 63 0 %p 0\n", ra);
    free(a);
    free(c);
    free(r);
    free(al);
    free(pm);
    free(m);
    free(v);
    free(ra);
    printf("freed 8\n");
    return 3;
}
