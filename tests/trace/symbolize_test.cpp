// symbolize_test: the symbolizer names this test's own functions, files and
// lines from its DWARF (the test is built with -g), expands an inline frame,
// and falls back to module+offset or a bare address when it cannot.
#include "trace/symbolize.hpp"
#include "self_modules.hpp"

#include <gtest/gtest.h>

#include <cstdint>

using heapkit::trace::frame;
using heapkit::trace::symbolizer;

// Each call and its __LINE__ share a line: not formatted.
// clang-format off
extern "C++" {
__attribute__((noinline)) std::uint64_t hk_sym_where() {
    return reinterpret_cast<std::uint64_t>(__builtin_return_address(0));
}

__attribute__((noinline)) std::uint64_t hk_sym_plain_caller(int* line) {
    const std::uint64_t r = hk_sym_where(); *line = __LINE__;
    asm volatile("" ::: "memory");
    return r;
}

static inline __attribute__((always_inline)) std::uint64_t hk_sym_inlined(int* line) {
    const std::uint64_t r = hk_sym_where(); *line = __LINE__;
    asm volatile("" ::: "memory");
    return r;
}

__attribute__((noinline)) std::uint64_t hk_sym_inline_caller(int* line, int* outer_line) {
    const std::uint64_t r = hk_sym_inlined(line); *outer_line = __LINE__;
    asm volatile("" ::: "memory");
    return r;
}
}
// clang-format on

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST(symbolize, names_a_function_file_and_line) {
    int line = 0;
    const std::uint64_t ip = hk_sym_plain_caller(&line);
    symbolizer sym(heapkit::test::self_modules());
    const std::vector<frame>& f = sym.frames(ip);
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f[0].function, "hk_sym_plain_caller(int*)");
    EXPECT_TRUE(ends_with(f[0].file, "symbolize_test.cpp")) << f[0].file;
    EXPECT_EQ(f[0].line, static_cast<std::uint32_t>(line));
    EXPECT_FALSE(f[0].inlined);
    EXPECT_TRUE(f[0].resolved);
    EXPECT_FALSE(f[0].module.empty());
    // cached: the same vector again
    EXPECT_EQ(&sym.frames(ip), &f);
}

TEST(symbolize, expands_inline_frames_innermost_first) {
    int line = 0, outer = 0;
    const std::uint64_t ip = hk_sym_inline_caller(&line, &outer);
    symbolizer sym(heapkit::test::self_modules());
    const std::vector<frame>& f = sym.frames(ip);
    ASSERT_EQ(f.size(), 2u) << f[0].function << " " << f[0].file << ":" << f[0].line;
    EXPECT_EQ(f[0].function.rfind("hk_sym_inlined", 0), 0u) << f[0].function;  // static: no linkage name
    EXPECT_TRUE(f[0].inlined);
    EXPECT_EQ(f[0].line, static_cast<std::uint32_t>(line));
    EXPECT_EQ(f[1].function, "hk_sym_inline_caller(int*, int*)");
    EXPECT_FALSE(f[1].inlined);
    EXPECT_EQ(f[1].line, static_cast<std::uint32_t>(outer));
    EXPECT_TRUE(ends_with(f[1].file, "symbolize_test.cpp")) << f[1].file;
}

TEST(symbolize, uses_the_symbol_table_of_a_library_without_debug_info) {
    // libc has a symbol table (dynamic symbols at least), maybe no DWARF here
    const auto ip = reinterpret_cast<std::uint64_t>(&::getpid);
    symbolizer sym(heapkit::test::self_modules());
    const std::vector<frame>& f = sym.frames(ip, false);
    ASSERT_FALSE(f.empty());
    EXPECT_NE(f.back().function.find("getpid"), std::string::npos) << f.back().function;
}

TEST(symbolize, a_shared_cache_serves_a_module_loaded_elsewhere) {
    int line = 0;
    const std::uint64_t ip = hk_sym_plain_caller(&line);
    auto cache = std::make_shared<heapkit::trace::symbol_cache>();
    symbolizer here(heapkit::test::self_modules(), cache);
    const frame first = here.frames(ip).at(0);
    // the same files loaded 16 MiB higher (as in another process)
    auto moved = heapkit::test::self_modules();
    for (auto& m : moved) {
        m.base += 16 << 20;
        for (auto& s : m.segments) s.start += 16 << 20;
    }
    symbolizer there(moved, cache);
    const frame& second = there.frames(ip + (16 << 20)).at(0);
    EXPECT_EQ(second.function, first.function);
    EXPECT_EQ(second.line, static_cast<std::uint32_t>(line));
}

TEST(symbolize, unknown_addresses_and_missing_files) {
    std::vector<heapkit::trace::module_info> mods(1);
    mods[0].id = 1;
    mods[0].base = 0x100000;
    mods[0].path = "/nonexistent/libgone.so";
    mods[0].segments.push_back({0x100000, 0x10000, 5});
    symbolizer sym(mods);
    EXPECT_EQ(sym.frames(0x101235).at(0).function, "libgone.so+0x1235");
    EXPECT_FALSE(sym.frames(0x101235).at(0).resolved);
    EXPECT_EQ(sym.frames(0x5000).at(0).function, "0x5000");
}

TEST(symbolize, a_build_id_mismatch_is_not_trusted) {
    auto mods = heapkit::test::self_modules();
    int line = 0;
    const std::uint64_t ip = hk_sym_plain_caller(&line);
    for (auto& m : mods) {
        if (!m.build_id.empty()) m.build_id[0] ^= 0xff;  // another build of the same path
    }
    symbolizer sym(mods, std::make_shared<heapkit::trace::symbol_cache>("/nonexistent"));
    const std::vector<frame>& f = sym.frames(ip);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_FALSE(f[0].resolved);
    EXPECT_NE(f[0].function.find("+0x"), std::string::npos) << f[0].function;
}

}  // namespace
