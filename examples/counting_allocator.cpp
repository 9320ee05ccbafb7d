// counting_allocator: the post's Counter. heapkit::counting<heapkit::libc>
// serves malloc and operator new for the whole process, so it sees what the
// C and C++ runtimes allocate before main, and then what each C++ construct
// allocates the first time it runs:
//
//   static heapkit::counting<heapkit::libc> counter;   // libc: glibc's malloc, no recursion
//   HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(counter);
//
//   int main() {
//       auto at_main = counter.snapshot();              // first thing: printing allocates
//       ...
//       auto before = counter.snapshot();
//       std::string s(100, 'x');
//       auto cost = counter.snapshot().since(before);   // bytes and calls of that construct
//   }
//
// The figures are what the allocator saw: the global bridge puts a 16-byte
// header in front of every block (heapkit/global.hpp), so `new int` counts as
// 20 bytes. The constructs run in table order and share state: the first one
// to write to stdout pays for stdout's buffer, the ones after it do not.
// Results are kept in a fixed array and printed at the end.
#include <heapkit/heapkit.hpp>

#include <array>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <iostream>
#include <locale>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static heapkit::counting<heapkit::libc> counter;
HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC(counter);

namespace {

// Keeps the optimiser from removing an allocation whose result is unused.
void keep(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

struct row {
    const char* construct;
    const char* note;
    heapkit::counting_snapshot cost;
};

std::array<row, 16> rows{};
std::size_t row_count = 0;

// Runs `f` once and records what the allocator saw meanwhile. Nothing here allocates.
template <class F>
void measure(const char* construct, const char* note, F&& f) {
    const heapkit::counting_snapshot before = counter.snapshot();
    f();
    rows[row_count++] = row{construct, note, counter.snapshot().since(before)};
    std::fflush(stdout);  // keeps stdout and stderr lines in order when both go to one pipe
}

// A facet for the std::locale row.
struct comma_decimal : std::numpunct<char> {
    char do_decimal_point() const override { return ','; }
};

}  // namespace

int main() {
    const heapkit::counting_snapshot at_main = counter.snapshot();

    // The first four constructs print the title and the prose of this section.
    measure("std::cout << ...", "first write to stdout: stdio's buffer", [] {
        std::cout << "counting allocator: what the runtimes and each C++ construct allocate\n";
    });
    measure("std::cerr << ...", "stderr is unbuffered", [] {
        std::cerr << "heapkit::counting<heapkit::libc> serves malloc and operator new "
                     "(HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC).\n";
    });
    measure("printf", "stdout's buffer exists already", [] {
        std::printf("Each construct below ran once, in table order; bytes include heapkit's\n");
    });
    measure("std::puts", "", [] { std::puts("16-byte header per block (so new int counts as 20 bytes)."); });
    measure("std::string, 5 chars", "fits the small-string buffer", [] {
        std::string s = "short";
        keep(s.data());
    });
    measure("std::string, 100 chars", "", [] {
        std::string s(100, 'x');
        keep(s.data());
    });
    measure("std::vector<int> push_back x1000", "doubling: a block per growth", [] {
        std::vector<int> v;
        for (int i = 0; i < 1000; ++i) v.push_back(i);
        keep(v.data());
    });
    measure("std::to_string, 19 digits", "too long for the small buffer", [] {
        std::string s = std::to_string(1234567890123456789LL);
        keep(s.data());
    });
    measure("std::function, 64-byte capture", "too big to store inline", [] {
        std::array<char, 64> big{};
        std::function<int()> f = [big] { return big[0]; };
        keep(&f);
        keep(f ? &big : nullptr);
    });
    measure("std::make_shared<int>", "object and count in one block", [] {
        auto p = std::make_shared<int>(42);
        keep(p.get());
    });
    measure("throw 42 / catch", "the exception object", [] {
        try {
            throw 42;
        } catch (int e) {
            keep(&e);
        }
    });
    measure("std::thread start + join", "state; glibc keeps the TLS vector", [] {
        int x = 0;
        std::thread t([&x] { x = 1; });
        t.join();
        keep(&x);
    });
    measure("std::locale + 1 facet", "locale body and facet", [] {
        std::locale loc(std::locale::classic(), new comma_decimal);
        keep(&loc);
    });
    measure("std::regex + regex_match", "compiled automaton", [] {
        std::regex re("[a-z]+[0-9]*");
        const bool m = std::regex_match("heapkit2024", re);
        keep(&m);
    });

    std::printf("\nallocated before main: %zu bytes in %zu calls\n", at_main.bytes_allocated,
                at_main.allocations + at_main.reallocations);
    std::printf("freed before main: %zu bytes in %zu calls\n", at_main.bytes_freed, at_main.deallocations);
    std::printf("live at main: %zu bytes in %zu blocks\n\n", at_main.live_bytes(), at_main.live_blocks());

    std::printf("%-34s %8s %6s %6s %8s  %s\n", "construct", "bytes", "calls", "frees", "live", "note");
    std::printf("%-34s %8s %6s %6s %8s  %s\n", "---------", "-----", "-----", "-----", "----", "----");
    for (std::size_t i = 0; i < row_count; ++i) {
        const row& r = rows[i];
        const long long live =
            static_cast<long long>(r.cost.bytes_allocated) - static_cast<long long>(r.cost.bytes_freed);
        std::printf("%-34s %8zu %6zu %6zu %8lld  %s\n", r.construct, r.cost.bytes_allocated,
                    r.cost.allocations + r.cost.reallocations, r.cost.deallocations, live, r.note);
    }
    std::printf("\nbytes: requested by allocate and grow, including the 16-byte header per block;\n"
                "calls: allocations and reallocations; live: bytes still held after the construct.\n");
    return 0;
}
