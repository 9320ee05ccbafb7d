// modules: dl_iterate_phdr scans into module_load / module_unload records. See modules.hpp.
#include "trace/recorder/modules.hpp"

#include "trace/recorder/append.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/spinlock.hpp"

#include <climits>
#include <cstring>

#include <elf.h>
#include <link.h>

namespace heapkit::trace::recorder {
namespace {

inline constexpr std::size_t max_modules = 2048;
inline constexpr std::size_t max_segments = 16;
inline constexpr std::size_t max_build_id = 64;

struct known {
    std::uintptr_t base;  // load bias
    const void* phdr;     // with base: identifies the object while it is loaded
    std::uint64_t id;
    bool seen;  // in the current scan
};

struct found {
    std::uintptr_t base;
    const ElfW(Phdr) * phdr;
    std::uint16_t phnum;
    const char* name;
};

spinlock lock;
known table[max_modules];
std::size_t count = 0;
std::uint64_t next_id = 1;
found scan_buf[max_modules];
std::size_t scan_count = 0;

int collect(dl_phdr_info* info, std::size_t, void*) {
    if (scan_count < max_modules)
        scan_buf[scan_count++] = found{info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, info->dlpi_name};
    return 0;
}

std::size_t build_id_of(const found& f, std::uint8_t* out) noexcept {
    for (unsigned i = 0; i < f.phnum; ++i) {
        const ElfW(Phdr)& ph = f.phdr[i];
        if (ph.p_type != PT_NOTE) continue;
        const auto* p = reinterpret_cast<const std::uint8_t*>(f.base + ph.p_vaddr);
        const std::uint8_t* end = p + ph.p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) nh;
            std::memcpy(&nh, p, sizeof nh);
            const std::uint8_t* name = p + sizeof nh;
            const std::uint8_t* desc = name + ((nh.n_namesz + 3) & ~3u);
            const std::uint8_t* next = desc + ((nh.n_descsz + 3) & ~3u);
            if (next > end) break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
                const std::size_t n = nh.n_descsz < max_build_id ? nh.n_descsz : max_build_id;
                std::memcpy(out, desc, n);
                return n;
            }
            p = next;
        }
    }
    return 0;
}

void announce(slot& s, const found& f, std::uint64_t id) noexcept {
    static char exe[PATH_MAX];
    const char* path = f.name != nullptr ? f.name : "";
    if (*path == '\0') {  // the main program
        const long n = ::syscall(SYS_readlink, "/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        path = exe;
    }
    std::uint8_t bid[max_build_id];
    const std::size_t bid_len = build_id_of(f, bid);
    const std::string_view p(path, std::strlen(path));
    const std::string_view b(reinterpret_cast<const char*>(bid), bid_len);
    const std::size_t max =
        small_record_max + p.size() + b.size() + 3 * max_varint_bytes + max_segments * 3 * max_varint_bytes;
    append_event(s, max, [&](std::uint8_t* q, encoder& e, std::uint64_t seq, std::uint64_t t) {
        q = e.module_load(q, seq, t, id, f.base, p, b);
        std::uint8_t* nseg_at = q;
        unsigned nseg = 0;
        for (unsigned i = 0; i < f.phnum; ++i)
            if (f.phdr[i].p_type == PT_LOAD && nseg < max_segments) ++nseg;
        q = put_varint(nseg_at, nseg);
        unsigned written = 0;
        for (unsigned i = 0; i < f.phnum && written < nseg; ++i) {
            const ElfW(Phdr)& ph = f.phdr[i];
            if (ph.p_type != PT_LOAD) continue;
            q = encoder::module_segment(q, f.base + ph.p_vaddr, ph.p_memsz, ph.p_flags & 7u);
            ++written;
        }
        return q;
    });
}

}  // namespace

bool modules_scan(slot& s, bool all) noexcept {
    lock_guard g(lock);
    scan_count = 0;
    ::dl_iterate_phdr(collect, nullptr);
    if (all) count = 0;
    for (std::size_t k = 0; k < count; ++k) table[k].seen = false;
    for (std::size_t i = 0; i < scan_count; ++i) {
        const found& f = scan_buf[i];
        bool have = false;
        for (std::size_t k = 0; k < count; ++k) {
            if (table[k].base == f.base && table[k].phdr == f.phdr) {
                table[k].seen = true;
                have = true;
                break;
            }
        }
        if (have || count == max_modules) continue;
        const std::uint64_t id = next_id++;
        table[count++] = known{f.base, f.phdr, id, true};
        announce(s, f, id);
    }
    bool unloaded = false;
    for (std::size_t k = 0; k < count;) {
        if (table[k].seen) {
            ++k;
            continue;
        }
        const std::uint64_t id = table[k].id;
        append_event(s, small_record_max, [&](std::uint8_t* q, encoder& e, std::uint64_t seq, std::uint64_t t) {
            return e.module_unload(q, seq, t, id);
        });
        table[k] = table[--count];
        unloaded = true;
    }
    return unloaded;
}

void modules_lock() noexcept { lock.lock(); }
void modules_unlock() noexcept { lock.unlock(); }
void modules_after_fork() noexcept { lock.reset(); }

}  // namespace heapkit::trace::recorder
