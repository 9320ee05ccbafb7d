// The alloc-error hook and fatal diagnostics. See include/heapkit/error.hpp.
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <atomic>
#include <cstdlib>

namespace heapkit {
namespace {
// nullptr means "the default hook"; constant-initialised, so usable before main.
constinit std::atomic<alloc_error_hook> g_hook{nullptr};
}  // namespace

void default_alloc_error_hook(layout l) noexcept {
    detail::line_buffer<96> line;
    line.text("memory allocation of ").dec(l.size()).text(" bytes failed\n");
    (void)line.write_to(2);
}

[[noreturn]] void handle_alloc_error(layout l) noexcept {
    alloc_error_hook hook = g_hook.load(std::memory_order_acquire);
    (hook != nullptr ? hook : default_alloc_error_hook)(l);
    std::abort();
}

alloc_error_hook set_alloc_error_hook(alloc_error_hook hook) noexcept {
    return g_hook.exchange(hook, std::memory_order_acq_rel);
}

alloc_error_hook take_alloc_error_hook() noexcept { return set_alloc_error_hook(nullptr); }

[[noreturn]] void fatal(std::string_view message) noexcept {
    detail::line_buffer<512> line;
    line.text("heapkit: ").text(message).text("\n");
    (void)line.write_to(2);
    std::abort();
}

}  // namespace heapkit
