// self_modules: the module map of the running test process, as the recorder
// would write it (path, load bias, build id, PT_LOAD segments), read with
// dl_iterate_phdr. Lets symbolizer tests look up their own addresses.
#pragma once

#include "trace/reader.hpp"

#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

namespace heapkit::test {

inline std::vector<trace::module_info> self_modules() {
    std::vector<trace::module_info> out;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) {
            auto& mods = *static_cast<std::vector<trace::module_info>*>(data);
            trace::module_info m;
            m.id = mods.size() + 1;
            m.base = info->dlpi_addr;
            m.path = info->dlpi_name != nullptr ? info->dlpi_name : "";
            if (m.path.empty()) {  // the main program
                char buf[PATH_MAX];
                const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
                if (n > 0) m.path.assign(buf, static_cast<std::size_t>(n));
            }
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                if (ph.p_type == PT_LOAD) {
                    m.segments.push_back({info->dlpi_addr + ph.p_vaddr, ph.p_memsz, ph.p_flags});
                } else if (ph.p_type == PT_NOTE) {
                    const auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
                    const unsigned char* end = p + ph.p_memsz;
                    while (p + sizeof(ElfW(Nhdr)) <= end) {
                        ElfW(Nhdr) nh;
                        std::memcpy(&nh, p, sizeof nh);
                        const unsigned char* name = p + sizeof nh;
                        const unsigned char* desc = name + ((nh.n_namesz + 3) & ~3u);
                        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0)
                            m.build_id.assign(desc, desc + nh.n_descsz);
                        p = desc + ((nh.n_descsz + 3) & ~3u);
                    }
                }
            }
            mods.push_back(std::move(m));
            return 0;
        },
        &out);
    return out;
}

}  // namespace heapkit::test
