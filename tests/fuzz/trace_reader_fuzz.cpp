// Fuzzes the trace reader (src/trace/reader.cpp) over arbitrary bytes:
// open_memory, then next() to the end, then every metadata accessor. The
// reader must never read outside its input (ASan), never hit undefined
// behaviour (UBSan), and keep its promises whatever the bytes: events come
// out in non-decreasing seq order, damage stops the stream with an error
// whose offset lies inside the input, and nothing is held at the end.
#include "trace/reader.hpp"

#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void broken(const char* what, unsigned long long a, unsigned long long b) {
    std::fprintf(stderr, "heapkit fuzz: trace reader: %s (%llu, %llu)\n", what, a, b);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    heapkit::trace::reader r;
    if (r.open_memory(data, size, "fuzz")) {
        heapkit::trace::event e;
        std::uint64_t last = 0, n = 0;
        while (r.next(e)) {
            if (n++ > 0 && e.seq < last) broken("events out of seq order", last, e.seq);
            last = e.seq;
            if (e.stack != 0) (void)r.stack(e.stack);
        }
        if (r.held_events() != 0) broken("events held after the end", r.held_events(), 0);
        if (r.bytes_read() > size) broken("read past the input", r.bytes_read(), size);
        std::size_t sum = r.process().argv.size() + r.stack_count() + r.threads().size();
        for (const auto& m : r.modules()) sum += m.segments.size() + m.build_id.size();
        (void)sum;
        (void)r.lost_events();
        (void)r.complete();
    } else if (!r.error()) {
        broken("open failed without an error", size, 0);
    }
    if (r.error()) {
        if (r.error()->offset > size) broken("error offset past the input", r.error()->offset, size);
        (void)r.error()->describe();
    }
    return 0;
}
