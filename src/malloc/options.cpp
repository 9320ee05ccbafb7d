// options: see options.hpp.
#include "options.hpp"

#include <cstdlib>

#include <fcntl.h>

namespace heapkit::hkmalloc {
namespace {

constinit options g_options{};

// "1", "yes", "on", "true" (any case of the first letter) -> true; unset -> fallback.
bool env_flag(const char* name, bool fallback) noexcept {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    return *v == '1' || *v == 'y' || *v == 'Y' || *v == 't' || *v == 'T' || (v[0] == 'o' && v[1] == 'n') ||
           (v[0] == 'O' && v[1] == 'N');
}

// A decimal integer, optionally negative; fallback when unset or malformed.
std::int64_t env_int(const char* name, std::int64_t fallback) noexcept {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    bool negative = false;
    if (*v == '-') {
        negative = true;
        ++v;
    }
    std::int64_t n = 0;
    int digits = 0;
    for (; *v >= '0' && *v <= '9' && digits < 15; ++v, ++digits) n = n * 10 + (*v - '0');
    if (digits == 0 || *v != '\0') return fallback;
    return negative ? -n : n;
}

}  // namespace

const options& get_options() noexcept { return g_options; }

void options_init() noexcept {
    g_options.verbose = env_flag("HEAPKIT_VERBOSE", false);
    g_options.stats = env_flag("HEAPKIT_STATS", false);
    g_options.huge_pages = env_flag("HEAPKIT_HUGE_PAGES", false);
    g_options.purge_delay_ms = env_int("HEAPKIT_PURGE_DELAY", 100);
    if (g_options.stats) {
        const int fd = ::fcntl(2, F_DUPFD_CLOEXEC, 200);  // a high number, out of the program's way
        if (fd >= 0) g_options.stats_fd = fd;
    }
}

}  // namespace heapkit::hkmalloc
