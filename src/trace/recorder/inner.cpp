// inner: the recorder's own code range. See inner.hpp (the C++ runtime's
// extents live with the operator new/delete forwarders, interpose_new.cpp).
#include "trace/recorder/inner.hpp"

#include <link.h>

namespace heapkit::trace::recorder {

std::uintptr_t self_begin = 0, self_end = 0;

namespace {

int find_self(dl_phdr_info* info, std::size_t, void* data) {
    const auto probe = reinterpret_cast<std::uintptr_t>(data);
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
        const std::uintptr_t b = info->dlpi_addr + ph.p_vaddr;
        if (probe >= b && probe < b + ph.p_memsz) {
            self_end = b + ph.p_memsz;
            self_begin = b;
            return 1;
        }
    }
    return 0;
}

}  // namespace

void self_range_init() noexcept {
    if (self_end != 0) return;
    ::dl_iterate_phdr(find_self, reinterpret_cast<void*>(&self_range_init));
}

}  // namespace heapkit::trace::recorder
