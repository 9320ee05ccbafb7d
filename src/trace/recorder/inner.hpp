// inner: whether an interposed call is the inner half of a call the recorder
// already records, told by its return address (see interpose_malloc.cpp):
//   - inside the recorder's own code: a next definition tail-called from our
//     forwarder (libstdc++'s operator delete jumps to free);
//   - inside the C++ runtime function a forwarder is calling right now
//     (thread_state::in_cxx): its operator new calls malloc, its nothrow new
//     calls the throwing one.
// The extents come from the ELF symbol table (dladdr1), found once.
#pragma once

#include "trace/recorder/threads.hpp"

#include <cstdint>

namespace heapkit::trace::recorder {

// The executable segment of libheapkit-profile.so (set by stacks_init; empty before).
extern std::uintptr_t self_begin, self_end;
inline bool in_self(std::uintptr_t ip) noexcept { return ip >= self_begin && ip < self_end; }
void self_range_init() noexcept;  // idempotent; called once the dynamic linker answers (next.cpp)

// Whether `ret` lies inside one of the C++ runtime's operator new/delete definitions.
bool in_cxx_runtime(std::uintptr_t ret) noexcept;

inline bool inner_call(std::uintptr_t ret) noexcept {
    return in_self(ret) || (tls_state.in_cxx != 0 && in_cxx_runtime(ret));
}

}  // namespace heapkit::trace::recorder
