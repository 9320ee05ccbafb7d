// pages: memory straight from the OS, and what it costs in resident memory.
// heapkit::pages maps each block as whole pages; heapkit::os::native is the
// platform layer under it, with the steps a real allocator uses:
//
//   void* p = heapkit::os::native::reserve(n, page);   // address space only
//   heapkit::os::native::commit(p, n);                 // readable and writable
//   ... touch it: now it is resident ...
//   heapkit::os::native::purge(p, n);                  // pages back to the OS, range stays usable
//   heapkit::os::native::decommit(p, n);               // pages back, range inaccessible
//   heapkit::os::native::release(p, n);                // address space back
//
// The RSS column is heapkit::os::native::resident_bytes() (/proc/self/statm).
#include <heapkit/heapkit.hpp>

#include <cstddef>
#include <cstdio>
#include <cstring>

namespace {

using native = heapkit::os::native;

constexpr std::size_t mib = std::size_t{1} << 20;
constexpr std::size_t region = 32 * mib;

void touch(void* p, std::size_t n) {
    std::memset(p, 0xab, n);
    asm volatile("" : : "g"(p) : "memory");
}

// Prints one step: its name, RSS now, and the change from the previous step.
class rss_table {
public:
    rss_table() : last_(native::resident_bytes()) {
        std::printf("%-44s %10s %10s\n", "step", "RSS KiB", "change KiB");
        std::printf("%-44s %10s %10s\n", "----", "-------", "----------");
        std::printf("%-44s %10zu %10s\n", "start", last_ / 1024, "");
    }
    void step(const char* what, bool ok = true) {
        const std::size_t now = native::resident_bytes();
        const long long change = (static_cast<long long>(now) - static_cast<long long>(last_)) / 1024;
        std::printf("%-44s %10zu %+10lld%s\n", what, now / 1024, change, ok ? "" : "  (failed)");
        last_ = now;
    }

private:
    std::size_t last_;  // RSS at the previous step
};

}  // namespace

int main() {
    std::printf("pages: memory from the OS, page by page\n");
    std::printf("page size: %zu bytes\n", native::page_size());
    std::printf("huge page size: %zu bytes\n", native::huge_page_size());
    std::printf("region used below: %zu MiB\n\n", region / mib);

    std::printf("heapkit::pages (allocate = map, deallocate = unmap)\n");
    bool ok = true;
    {
        heapkit::pages os;
        rss_table t;
        const heapkit::layout l = *heapkit::layout::from(region, 64);
        heapkit::memory_block b = os.allocate(l);
        ok = ok && b;
        t.step("allocate 32 MiB", b.ptr != nullptr);
        if (b) {
            touch(b.ptr, region);
            t.step("touch every byte");
            os.deallocate(b.ptr, l);
            t.step("deallocate");
        }
    }

    std::printf("\nheapkit::os::native (reserve, commit, purge, decommit, release)\n");
    {
        rss_table t;
        void* p = native::reserve(region, native::page_size());
        ok = ok && p != nullptr;
        t.step("reserve 32 MiB", p != nullptr);
        if (p != nullptr) {
            bool r = native::commit(p, region);
            t.step("commit", r);
            touch(p, region);
            t.step("touch every byte");
            r = native::purge(p, region);
            ok = ok && r;
            t.step("purge (MADV_DONTNEED)", r);
            touch(p, region);
            t.step("touch again (fresh zero pages)");
            r = native::decommit(p, region);
            ok = ok && r;
            t.step("decommit", r);
            r = native::release(p, region);
            ok = ok && r;
            t.step("release", r);
        }
    }
    return ok ? 0 : 1;
}
