// The dlopen/dlclose scenario shared by the lifecycle helper (run under
// LD_PRELOAD=libheapkit.so) and tests/global/malloc_lifecycle_test.cpp
// (linked with heapkit::malloc): load the library (its constructor
// allocates), take blocks it made, give it blocks to free, dlclose it, then
// free its blocks with their contents checked. Returns "" or what went wrong.
#pragma once

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dlfcn.h>

namespace hk_test {

inline std::string dlopen_scenario(const char* library, int rounds) {
    using make_fn = void* (*)(std::size_t, unsigned char);
    using check_free_fn = bool (*)(void*, std::size_t, unsigned char);
    using ctor_block_fn = void* (*)();
    for (int round = 0; round < rounds; ++round) {
        void* h = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) return std::string("dlopen: ") + ::dlerror();
        auto make = reinterpret_cast<make_fn>(::dlsym(h, "dl_make"));
        auto check_free = reinterpret_cast<check_free_fn>(::dlsym(h, "dl_check_and_free"));
        auto ctor_block = reinterpret_cast<ctor_block_fn>(::dlsym(h, "dl_ctor_block"));
        if (!make || !check_free || !ctor_block) return "dlsym failed";
        struct made {
            unsigned char* p;
            std::size_t n;
            unsigned char seed;
        };
        std::vector<made> from_lib;
        for (std::size_t i = 0; i < 300; ++i) {
            const std::size_t n = 1 + (i * 7919) % (i % 50 == 0 ? 700000 : 3000);
            const auto seed = static_cast<unsigned char>(i + round);
            from_lib.push_back({static_cast<unsigned char*>(make(n, seed)), n, seed});
        }
        for (std::size_t i = 0; i < 300; ++i) {  // blocks of ours, freed by the library
            const std::size_t n = 1 + (i * 31) % 2000;
            void* p = std::malloc(n);
            std::memset(p, 0x42, n);
            if (!check_free(p, n, 0x42)) return "the library saw a block of ours corrupted";
        }
        auto* cb = static_cast<unsigned char*>(ctor_block());
        if (::dlclose(h) != 0) return std::string("dlclose: ") + ::dlerror();
        if (void* still = ::dlopen(library, RTLD_NOW | RTLD_NOLOAD)) {
            ::dlclose(still);
            return "the library is still loaded after dlclose (build it with -fno-gnu-unique)";
        }
        // after dlclose: its blocks are ours to check and free
        for (std::size_t i = 0; i < 5000; ++i)
            if (cb == nullptr || cb[i] != 0x6b) return "constructor block corrupted after dlclose";
        std::free(cb);
        for (const made& m : from_lib) {
            if (m.p == nullptr) return "the library's malloc failed";
            for (std::size_t i = 0; i < m.n; ++i)
                if (m.p[i] != static_cast<unsigned char>(m.seed + i)) return "library block corrupted after dlclose";
            std::free(m.p);
        }
    }
    return "";
}

}  // namespace hk_test
