// heapkit::libc reaches glibc's allocator behind the sanitizers' back, so its
// conformance runs in this folder, which is built without sanitizers.
#include <heapkit/alloc/system.hpp>

#include "conformance.hpp"

HEAPKIT_CONFORMANCE(libc, heapkit::libc);
