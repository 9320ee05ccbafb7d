// A user's program linked with the installed heapkit::malloc: malloc and
// operator new must be heapkit's. Built by tests/install/check_install.sh.
#include <heapkit/malloc.hpp>

#include <cstdio>
#include <cstdlib>

int main() {
    void* p = std::malloc(100);
    int* q = new int(5);
    const bool ok = hk_owns(p) && hk_owns(q);
    std::free(p);
    delete q;
    std::puts(ok ? "malloc is heapkit" : "malloc is not heapkit");
    return ok ? 0 : 1;
}
