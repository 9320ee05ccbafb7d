// report: misuse messages of heapkit malloc. See report.hpp.
#include "report.hpp"

#include "options.hpp"

#include <heapkit/detail/line_buffer.hpp>

#include <cstdlib>

namespace heapkit::hkmalloc {
namespace {
[[noreturn]] void finish(detail::line_buffer<256>& line) noexcept {
    (void)line.write_to(2);
    std::abort();
}
}  // namespace

void report_foreign(const char* op, const void* p) noexcept {
    detail::line_buffer<256> line;
    line.text("heapkit: ").text(op).text(": pointer ").ptr(p);
    line.text(" was not allocated by heapkit (or was already freed)\n");
    finish(line);
}

void report_not_block_start(const char* op, const void* p, const void* block) noexcept {
    detail::line_buffer<256> line;
    line.text("heapkit: ").text(op).text(": pointer ").ptr(p).text(" was not allocated by heapkit: it points ");
    line.text("inside the block at ").ptr(block).text(", not at its start\n");
    finish(line);
}

void report_double_free(const char* op, const void* p) noexcept {
    detail::line_buffer<256> line;
    line.text("heapkit: ").text(op).text(": pointer ").ptr(p).text(" was already freed (double free)\n");
    finish(line);
}

void verbose(const char* text, std::size_t value) noexcept {
    if (!get_options().verbose) return;
    detail::line_buffer<256> line;
    line.text("heapkit: ").text(text).text(" ").dec(value).text("\n");
    (void)line.write_to(2);
}

}  // namespace heapkit::hkmalloc
