// The trace writer's bytes: the file header, chunk headers (fields at their
// offsets, both CRCs as zlib computes them), raw and zstd payloads, chunks
// cut by size, watermarks after a round, and the same bytes through a file.
#include "trace/writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace heapkit::trace;
using bytes = std::vector<std::uint8_t>;

std::uint32_t le32(const bytes& b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
           static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}
std::uint32_t zlib_crc(const std::uint8_t* p, std::size_t n) {
    return static_cast<std::uint32_t>(::crc32(::crc32(0L, Z_NULL, 0), p, static_cast<uInt>(n)));
}

struct parsed_chunk {
    std::size_t offset;
    std::uint8_t codec;
    std::uint32_t thread, stored, raw, first_seq_lo;
    bytes payload;  // decoded
};

// Walks the chunks of a trace, checking each header's CRCs and sizes.
std::vector<parsed_chunk> chunks_of(const bytes& b) {
    std::vector<parsed_chunk> out;
    std::size_t at = sizeof(file_header);
    while (at < b.size()) {
        EXPECT_LE(at + 32, b.size());
        if (at + 32 > b.size()) break;
        parsed_chunk c{};
        c.offset = at;
        EXPECT_EQ(le32(b, at), 0x4b434b48u);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[at]), 4), "HKCK");
        c.codec = b[at + 4];
        EXPECT_EQ(b[at + 5], 0);
        EXPECT_EQ(b[at + 6], 0);
        EXPECT_EQ(b[at + 7], 0);
        c.thread = le32(b, at + 8);
        c.stored = le32(b, at + 12);
        c.raw = le32(b, at + 16);
        c.first_seq_lo = le32(b, at + 24);
        EXPECT_EQ(le32(b, at + 28), zlib_crc(&b[at], 28)) << "header CRC of the chunk at " << at;
        EXPECT_LE(at + 32 + c.stored, b.size());
        if (at + 32 + c.stored > b.size()) break;
        EXPECT_EQ(le32(b, at + 20), zlib_crc(&b[at + 32], c.stored)) << "payload CRC of the chunk at " << at;
        if (c.codec == 0) {
            EXPECT_EQ(c.stored, c.raw);
            c.payload.assign(b.begin() + static_cast<std::ptrdiff_t>(at + 32),
                             b.begin() + static_cast<std::ptrdiff_t>(at + 32 + c.stored));
        } else {
            EXPECT_EQ(c.codec, 1);
            c.payload.resize(c.raw);
            const std::size_t n = ZSTD_decompress(c.payload.data(), c.raw, &b[at + 32], c.stored);
            EXPECT_EQ(n, c.raw);
        }
        out.push_back(std::move(c));
        at += 32 + le32(b, at + 12);
    }
    return out;
}

TEST(TraceWriter, FileHeaderBytes) {
    writer w;
    w.open_memory();
    ASSERT_TRUE(w.close());
    const bytes expected = {'H', 'K', 'T', 'R', 'A', 'C', 'E', 0, 1, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(w.bytes(), expected);
    EXPECT_EQ(w.chunks(), 0u);
}

TEST(TraceWriter, RawChunkBytesAndCrcs) {
    writer w;
    w.open_memory({.compression = codec::none});
    w.chunk(1).append(alloc_record_max, [](std::uint8_t* p, encoder& e) {
        return e.alloc(p, op::malloc, 5, 100, 0x1000, 32, 0, 7);
    });
    w.chunk(1).append(free_record_max, [](std::uint8_t* p, encoder& e) {
        return e.free(p, op::free, 9, 98, 0x1010, 0, 0, 0);
    });
    ASSERT_TRUE(w.cut(1));
    const bytes& b = w.bytes();
    ASSERT_EQ(b.size(), 16u + 32u + 15u);
    auto cs = chunks_of(b);
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].codec, 0);
    EXPECT_EQ(cs[0].thread, 1u);
    EXPECT_EQ(cs[0].first_seq_lo, 5u);
    // alloc: kind op seq-delta time(zigzag 100 = 200) addr(zigzag 0x1000 = 0x2000) size stack
    // free:  kind op seq-delta 4, time -2 (zigzag 3), addr +0x10 (zigzag 0x20), stack 0
    const bytes records = {0x01, 0x00, 0x05, 0xc8, 0x01, 0x80, 0x40, 0x20, 0x07,
                           0x02, 0x04, 0x04, 0x03, 0x20, 0x00};
    EXPECT_EQ(cs[0].payload, records);
    // The header's own bytes: magic, codec, reserved, thread, sizes.
    const bytes head = {0x48, 0x4b, 0x43, 0x4b, 0, 0, 0, 0, 1, 0, 0, 0, 15, 0, 0, 0, 15, 0, 0, 0};
    EXPECT_EQ(bytes(b.begin() + 16, b.begin() + 36), head);
}

TEST(TraceWriter, ZstdChunkDecompressesToTheRecords) {
    writer w;
    w.open_memory({.compression = codec::zstd, .zstd_level = 3});
    bytes expected(4096);
    encoder ref;
    std::uint8_t* q = expected.data();
    for (std::uint64_t i = 0; i < 200; ++i) {
        w.chunk(2).append(alloc_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.alloc(p, op::new_, i, i * 1000, 0x10000 + 64 * i, 48, 0, 3);
        });
        q = ref.alloc(q, op::new_, i, i * 1000, 0x10000 + 64 * i, 48, 0, 3);
    }
    expected.resize(static_cast<std::size_t>(q - expected.data()));
    ASSERT_TRUE(w.close());
    auto cs = chunks_of(w.bytes());
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].codec, 1) << "repetitive records compress";
    EXPECT_LT(cs[0].stored, cs[0].raw);
    EXPECT_EQ(cs[0].payload, expected);
    EXPECT_EQ(w.raw_bytes(), expected.size());
}

TEST(TraceWriter, IncompressibleChunkIsStoredRaw) {
    writer w;
    w.open_memory();
    w.stack_node(1, 0, 0x401000);
    ASSERT_TRUE(w.close());
    auto cs = chunks_of(w.bytes());
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].codec, 0);
    const bytes records = {0x21, 0x01, 0x00, 0x80, 0xa0, 0x80, 0x02};
    EXPECT_EQ(cs[0].payload, records);
    EXPECT_EQ(cs[0].first_seq_lo, 0u) << "no events";
}

TEST(TraceWriter, ChunksAreCutBySizeBetweenRecordsAndStartFreshDeltas) {
    writer w;
    w.open_memory({.compression = codec::none, .chunk_bytes = 256});
    for (std::uint64_t i = 0; i < 100; ++i)
        w.chunk(3).append(alloc_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.alloc(p, op::malloc, 1000 + i, 0, 0x5000, 8, 0, 0);
        });
    ASSERT_TRUE(w.close());
    auto cs = chunks_of(w.bytes());
    ASSERT_GT(cs.size(), 1u);
    std::size_t records = 0;
    for (const auto& c : cs) {
        EXPECT_LE(c.raw, 256u);
        EXPECT_EQ(c.thread, 3u);
        // The first record of each chunk carries its full seq (delta from 0).
        ASSERT_GE(c.payload.size(), 4u);
        EXPECT_EQ(c.payload[0], 0x01);
        const std::uint8_t* p = &c.payload[2];
        std::uint64_t seq = 0;
        ASSERT_TRUE(get_varint(p, c.payload.data() + c.payload.size(), seq));
        EXPECT_EQ(static_cast<std::uint32_t>(seq), c.first_seq_lo);
        EXPECT_EQ(seq, 1000 + records);
        // Count the chunk's records: kind op, then seq time addr size stack.
        const std::uint8_t* r = c.payload.data();
        const std::uint8_t* end = r + c.payload.size();
        while (r < end) {
            ASSERT_EQ(*r, 0x01);
            r += 2;
            std::uint64_t v = 0;
            for (int f = 0; f < 5; ++f) ASSERT_TRUE(get_varint(r, end, v));
            ++records;
        }
    }
    EXPECT_EQ(records, 100u);
}

TEST(TraceWriter, RoundCutsEveryChunkThenWritesAWatermark) {
    writer w;
    w.open_memory({.compression = codec::none});
    w.chunk(1).append(small_record_max, [](std::uint8_t* p, encoder& e) { return e.main_start(p, 0, 0); });
    w.chunk(2).append(small_record_max, [](std::uint8_t* p, encoder& e) { return e.main_start(p, 1, 0); });
    ASSERT_TRUE(w.round(2));
    auto cs = chunks_of(w.bytes());
    ASSERT_EQ(cs.size(), 3u);
    EXPECT_EQ(cs[0].thread, 1u);
    EXPECT_EQ(cs[1].thread, 2u);
    EXPECT_EQ(cs[2].thread, 0u);
    EXPECT_EQ(cs[2].payload, (bytes{0x22, 0x02}));
}

TEST(TraceWriter, FileHoldsTheSameBytesAsMemory) {
    char path[] = "/tmp/heapkit-writer-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    auto fill = [](writer& w) {
        process_info p;
        p.pid = 42;
        p.exe = "/bin/true";
        p.argv = {"true", "--x"};
        p.recorder = "test";
        w.process(p);
        w.chunk(1).append(alloc_record_max, [](std::uint8_t* q, encoder& e) {
            return e.alloc(q, op::calloc, 0, 5, 0x7000, 100, 0, 1);
        });
        return w.round(1) && w.close();
    };
    writer a, b;
    ASSERT_TRUE(a.open(path)) << a.error();
    ASSERT_TRUE(fill(a));
    b.open_memory();
    ASSERT_TRUE(fill(b));
    std::FILE* f = std::fopen(path, "rb");
    ASSERT_NE(f, nullptr);
    bytes file(1 << 16);
    file.resize(std::fread(file.data(), 1, file.size(), f));
    std::fclose(f);
    std::remove(path);
    EXPECT_EQ(file, b.bytes());
    EXPECT_EQ(a.file_bytes(), file.size());
}

TEST(TraceWriter, OpenFailureNamesThePath) {
    writer w;
    EXPECT_FALSE(w.open("/nonexistent-dir/x.hkt"));
    EXPECT_NE(w.error().find("/nonexistent-dir/x.hkt"), std::string::npos) << w.error();
}

}  // namespace
