// options: heapkit malloc's settings, read once from the environment during
// lazy initialisation, without allocating (getenv and a hand-written number
// parser; no strings).
//
//   HEAPKIT_VERBOSE=1        one line on stderr at initialisation and when the OS refuses memory
//   HEAPKIT_STATS=1          print statistics to stderr at exit
//   HEAPKIT_PURGE_DELAY=ms   how long an unused page/segment stays committed before it is
//                            given back to the OS (default 100; 0 = at once; -1 = never)
//   HEAPKIT_HUGE_PAGES=1     ask for transparent huge pages on segments (madvise)
//
// Invariant: values are written once, by options_init() inside global_init(),
// before heap.cpp's g_init_state becomes 2 (release); readers run after
// global_init() or load g_init_state first (acquire).
#pragma once

#include <cstdint>

namespace heapkit::hkmalloc {

struct options {
    bool verbose = false;
    bool stats = false;
    bool huge_pages = false;
    std::int64_t purge_delay_ms = 100;  // < 0: never purge
    int stats_fd = 2;                   // with `stats`: a duplicate of stderr taken at start-up, so the
                                        // table still gets out when the program closes fd 2 (GNU ls does)
};

// The options (defaults until options_init has run).
const options& get_options() noexcept;
// Reads the environment; called once by global_init().
void options_init() noexcept;

}  // namespace heapkit::hkmalloc
