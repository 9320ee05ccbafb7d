// Writes the seed corpus of trace_reader_fuzz: small valid traces (every
// record kind, raw and zstd; threads merged under watermarks; a trace that
// ends without its end record) into the directory named by argv[1].
#include <cstdio>
#include <string>

#include "trace/trace_builder.hpp"

using namespace heapkit::trace;
using heapkit::trace::testing::every_kind;
using heapkit::trace::testing::trace_builder;

namespace {

bool save(const std::string& dir, const char* name, const std::vector<std::uint8_t>& bytes) {
    const std::string path = dir + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
        std::fprintf(stderr, "trace_reader_fuzz_seeds: cannot create %s\n", path.c_str());
        return false;
    }
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: trace_reader_fuzz_seeds DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    bool ok = true;
    for (codec c : {codec::none, codec::zstd}) {
        trace_builder b({.compression = c});
        every_kind(b);
        ok = save(dir, c == codec::none ? "every_kind_raw.hkt" : "every_kind_zstd.hkt", b.finish()) && ok;
    }
    {
        trace_builder b({.compression = codec::none, .chunk_bytes = 64});
        std::uint64_t seq = 0;
        for (int round = 0; round < 3; ++round) {
            for (int i = 0; i < 12; ++i, ++seq)
                b.alloc(1 + static_cast<std::uint32_t>(seq % 3), op::malloc, seq, seq * 1000, 0x1000 + 32 * seq, 24,
                        0, 1 + seq % 4);
            b.round(seq);
        }
        b.free(2, op::delete_sized, seq, seq * 1000, 0x1000, 24, 0, 2);  // no end record, no final watermark
        ok = save(dir, "threads_raw.hkt", b.finish()) && ok;
    }
    return ok ? 0 : 1;
}
