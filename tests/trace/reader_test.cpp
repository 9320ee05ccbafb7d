// The trace reader: every record kind round-trips through the writer with
// exact fields; threads' events merge into seq order under watermarks;
// metadata tables; versions; damage of every kind names its offset and
// delivers what came before it; memory stays within one writer round.
#include "trace/reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <random>

#include "trace/trace_builder.hpp"

namespace {

using namespace heapkit::trace;
using heapkit::trace::testing::drain;
using heapkit::trace::testing::show;
using heapkit::trace::testing::every_kind;
using heapkit::trace::testing::sample_process;
using heapkit::trace::testing::trace_builder;
using bytes = std::vector<std::uint8_t>;

void expect_events(const std::vector<event>& got, const std::vector<event>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(show(got[i]), show(want[i])) << "event " << i;
}

class TraceReaderCodec : public ::testing::TestWithParam<codec> {};

TEST_P(TraceReaderCodec, EveryRecordKindRoundTrips) {
    trace_builder b({.compression = GetParam()});
    every_kind(b);
    const bytes& data = b.finish();
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size(), "t.hkt"));
    // process() is valid right after open().
    const process_info& p = r.process();
    const process_info q = sample_process();
    EXPECT_EQ(p.pid, q.pid);
    EXPECT_EQ(p.ppid, q.ppid);
    EXPECT_EQ(p.start_realtime_ns, q.start_realtime_ns);
    EXPECT_EQ(p.start_monotonic_ns, q.start_monotonic_ns);
    EXPECT_EQ(p.exe, q.exe);
    EXPECT_EQ(p.argv, q.argv);
    EXPECT_EQ(p.parent_trace, q.parent_trace);
    EXPECT_EQ(p.previous_trace, q.previous_trace);
    EXPECT_EQ(p.sample_rate, q.sample_rate);
    EXPECT_EQ(p.page_size, q.page_size);
    EXPECT_EQ(p.recorder, q.recorder);

    expect_events(drain(r), b.sorted());
    EXPECT_FALSE(r.error()) << r.error()->describe();
    EXPECT_TRUE(r.complete());
    EXPECT_EQ(r.bytes_read(), data.size());
    EXPECT_EQ(r.lost_events(), 12u);

    EXPECT_EQ(r.stack_count(), 3u);
    ASSERT_NE(r.stack(2), nullptr);
    EXPECT_EQ(r.stack(2)->parent, 1u);
    EXPECT_EQ(r.stack(2)->ip, 0x7fffffffe000u);
    EXPECT_EQ(r.stack(3)->ip, UINT64_MAX);
    EXPECT_EQ(r.stack(0), nullptr);
    EXPECT_EQ(r.stack(4), nullptr);

    ASSERT_EQ(r.modules().size(), 1u);
    const module_info& m = r.modules()[0];
    EXPECT_EQ(m.id, 1u);
    EXPECT_EQ(m.base, 0x555555554000u);
    EXPECT_EQ(m.path, "/usr/bin/prog");
    EXPECT_EQ(m.build_id, (std::vector<std::uint8_t>{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}));
    ASSERT_EQ(m.segments.size(), 3u);
    EXPECT_EQ(m.segments[1].start, 0x555555555000u);
    EXPECT_EQ(m.segments[1].size, 0x3000u);
    EXPECT_EQ(m.segments[1].flags, 5u);
    EXPECT_EQ(m.load_seq, 0u);
    EXPECT_EQ(m.unload_seq, 20u);

    ASSERT_EQ(r.threads().size(), 1u);
    EXPECT_EQ(r.threads()[0].slot, 1u);
    EXPECT_EQ(r.threads()[0].tid, 4243u);
    EXPECT_EQ(r.threads()[0].name, "worker");
    EXPECT_EQ(r.threads()[0].start_seq, 2u);
    EXPECT_EQ(r.threads()[0].end_seq, 21u);
}

INSTANTIATE_TEST_SUITE_P(Codecs, TraceReaderCodec, ::testing::Values(codec::none, codec::zstd));

TEST(TraceReader, ReadsAFile) {
    trace_builder b;
    every_kind(b);
    const bytes& data = b.finish();
    char path[] = "/tmp/heapkit-reader-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
    reader r;
    ASSERT_TRUE(r.open(path)) << r.error()->describe();
    expect_events(drain(r), b.sorted());
    EXPECT_FALSE(r.error());
    EXPECT_TRUE(r.complete());
    // Truncate it in the middle of its last chunk: the error names the file and that chunk.
    ASSERT_EQ(::truncate(path, static_cast<off_t>(data.size() - 3)), 0);
    reader t;
    ASSERT_TRUE(t.open(path));
    drain(t);
    ASSERT_TRUE(t.error());
    EXPECT_EQ(t.error()->path, path);
    EXPECT_NE(t.error()->describe().find(std::string(path) + ": offset "), std::string::npos);
    EXPECT_NE(t.error()->reason.find("truncated chunk header"), std::string::npos) << t.error()->reason;
    std::remove(path);
}

TEST(TraceReader, OpenFailuresSayWhy) {
    reader r;
    EXPECT_FALSE(r.open("/nonexistent/trace.hkt"));
    ASSERT_TRUE(r.error());
    EXPECT_EQ(r.error()->path, "/nonexistent/trace.hkt");
    EXPECT_NE(r.error()->reason.find("No such file"), std::string::npos) << r.error()->reason;

    const bytes junk = {'n', 'o', 't', ' ', 'a', ' ', 't', 'r', 'a', 'c', 'e', ' ', 'f', 'i', 'l', 'e', '!'};
    EXPECT_FALSE(r.open_memory(junk.data(), junk.size(), "junk"));
    EXPECT_EQ(r.error()->describe(), "junk: offset 0: not a heapkit trace (the file does not start with \"HKTRACE\\0\")");

    EXPECT_FALSE(r.open_memory(nullptr, 0));
    EXPECT_NE(r.error()->reason.find("too short"), std::string::npos);
}

TEST(TraceReader, RefusesAnotherMajorVersionButReadsANewerMinor) {
    trace_builder b;
    every_kind(b);
    bytes data = b.finish();
    data[8] = 2;  // version_major
    data[10] = 3;  // version_minor
    reader r;
    EXPECT_FALSE(r.open_memory(data.data(), data.size(), "future.hkt"));
    ASSERT_TRUE(r.error());
    EXPECT_EQ(r.error()->offset, 8u);
    EXPECT_NE(r.error()->reason.find("version 2.3"), std::string::npos) << r.error()->reason;
    EXPECT_NE(r.error()->reason.find("reads version 1.x"), std::string::npos) << r.error()->reason;

    data[8] = 1;  // 1.3: a newer minor version reads
    reader m;
    ASSERT_TRUE(m.open_memory(data.data(), data.size()));
    EXPECT_EQ(drain(m).size(), b.expected.size());
    EXPECT_FALSE(m.error());
}

// Threads' chunks interleave in the file; the reader delivers seq order.
TEST(TraceReader, MergesThreadsIntoSeqOrderUnderWatermarks) {
    std::mt19937_64 rng(7);
    trace_builder b({.compression = codec::zstd, .chunk_bytes = 512});
    b.w.process(sample_process());
    constexpr std::uint64_t rounds = 50, per_round = 400;
    std::uint64_t seq = 0;
    for (std::uint64_t round = 0; round < rounds; ++round) {
        for (std::uint64_t i = 0; i < per_round; ++i, ++seq) {
            const auto t = static_cast<std::uint32_t>(1 + rng() % 4);
            if (rng() % 2)
                b.alloc(t, op::malloc, seq, seq * 10, 0x10000 + (rng() % 1000) * 16, rng() % 500, 0, rng() % 9);
            else
                b.free(t, op::free, seq, seq * 10, 0x10000 + (rng() % 1000) * 16);
        }
        // Cut the threads' chunks in a shuffled order, then the watermark.
        std::vector<std::uint32_t> order = {1, 2, 3, 4};
        std::shuffle(order.begin(), order.end(), rng);
        for (auto t : order) b.w.cut(t);
        b.w.watermark(seq);
    }
    const bytes& data = b.finish();
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size()));
    const auto got = drain(r);
    EXPECT_FALSE(r.error());
    expect_events(got, b.sorted());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].seq, i);
    EXPECT_LE(r.peak_held_events(), per_round) << "held more than one writer round";
    EXPECT_EQ(r.held_events(), 0u);
    EXPECT_FALSE(r.complete()) << "no end record";
}

// Without watermarks everything is held until the end; still in order.
TEST(TraceReader, WithoutWatermarksHoldsAllAndStillOrders) {
    trace_builder b({.compression = codec::none});
    for (std::uint64_t s = 0; s < 300; ++s) b.main_start(static_cast<std::uint32_t>(s % 3), s, s);
    for (std::uint32_t t : {2u, 0u, 1u}) b.w.cut(t);
    const bytes& data = b.finish();
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size()));
    expect_events(drain(r), b.sorted());
    EXPECT_EQ(r.peak_held_events(), 300u);
}

// Dense seqs are placed by seq in one batch; sparse or repeated ones go
// through the heap. Both give seq order (repeated seqs: file order).
TEST(TraceReader, SparseAndRepeatedSeqsAlsoMerge) {
    for (const std::uint64_t stride : {1, 2, 3, 100}) {
        for (const bool repeat : {false, true}) {
            SCOPED_TRACE("stride " + std::to_string(stride) + (repeat ? ", repeated seqs" : ""));
            std::mt19937_64 rng(stride);
            trace_builder b({.compression = codec::none});
            std::uint64_t seq = 0;
            for (int round = 0; round < 5; ++round) {
                for (int i = 0; i < 1000; ++i) {
                    if (!(repeat && i == 500)) seq += stride;  // i == 500 repeats the seq of 499
                    b.alloc(static_cast<std::uint32_t>(rng() % 3), op::malloc, seq, 0, 0x1000 + 16 * (rng() % 100), 1);
                }
                b.round(seq + 1);
            }
            const bytes& data = b.finish();
            reader r;
            ASSERT_TRUE(r.open_memory(data.data(), data.size()));
            const auto got = drain(r);
            EXPECT_FALSE(r.error());
            // Equal seqs: file order is the order of chunks cut (thread order of first use).
            auto want = b.expected;
            std::vector<std::uint32_t> first_use;
            for (const auto& e : want)
                if (std::find(first_use.begin(), first_use.end(), e.thread) == first_use.end())
                    first_use.push_back(e.thread);
            std::stable_sort(want.begin(), want.end(), [&](const event& a, const event& c) {
                if (a.seq != c.seq) return a.seq < c.seq;
                return std::find(first_use.begin(), first_use.end(), a.thread) <
                       std::find(first_use.begin(), first_use.end(), c.thread);
            });
            expect_events(got, want);
        }
    }
}

TEST(TraceReader, EqualSeqsComeOutInFileOrder) {
    trace_builder b({.compression = codec::none});
    b.alloc(2, op::malloc, 5, 0, 0x20, 1);
    b.w.cut(2);
    b.alloc(1, op::malloc, 5, 0, 0x10, 1);
    b.round(6);
    const bytes& data = b.finish();
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size()));
    const auto got = drain(r);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].addr, 0x20u);
    EXPECT_EQ(got[1].addr, 0x10u);
}

TEST(TraceReader, AnEventBelowAnEarlierWatermarkIsAnError) {
    trace_builder b({.compression = codec::none});
    b.alloc(1, op::malloc, 0, 0, 0x10, 1);
    b.round(5);
    const std::uint64_t second = b.w.file_bytes();
    b.alloc(2, op::malloc, 3, 0, 0x20, 1);  // the watermark said every seq < 5 was written
    b.round(6);
    const bytes& data = b.finish();
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size()));
    const auto got = drain(r);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_TRUE(r.error());
    EXPECT_EQ(r.error()->offset, second);
    EXPECT_NE(r.error()->reason.find("event seq 3 comes after watermark 5"), std::string::npos) << r.error()->reason;
}

TEST(TraceReader, AKilledProcessIsIncompleteButNotAnError) {
    trace_builder b;
    b.w.process(sample_process());
    b.alloc(1, op::malloc, 0, 0, 0x10, 1);
    b.round(1);
    const bytes& data = b.finish();
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size()));
    EXPECT_EQ(drain(r).size(), 1u);
    EXPECT_FALSE(r.error());
    EXPECT_FALSE(r.complete());
}

// A small trace cut at every byte offset: never a crash; the error names the
// chunk the input ends in; every event of the chunks before it is delivered.
TEST(TraceReader, TruncatedAtEveryOffset) {
    for (codec c : {codec::none, codec::zstd}) {
        trace_builder b({.compression = c});
        b.w.process(sample_process());
        std::uint64_t seq = 0;
        std::vector<std::uint64_t> chunk_ends;  // file offsets where a chunk ends
        for (int round = 0; round < 4; ++round) {
            for (int i = 0; i < 6; ++i, ++seq)
                b.alloc(1 + static_cast<std::uint32_t>(seq % 2), op::malloc, seq, seq, 0x1000 + seq * 32, seq);
            b.w.cut(1);  // even seqs
            chunk_ends.push_back(b.w.file_bytes());
            b.w.cut(2);  // odd seqs
            chunk_ends.push_back(b.w.file_bytes());
            b.w.watermark(seq);
            chunk_ends.push_back(b.w.file_bytes());
        }
        const bytes data = b.finish();
        const auto all = b.sorted();
        ASSERT_EQ(chunk_ends.back(), data.size());
        for (std::size_t len = 0; len < data.size(); ++len) {
            SCOPED_TRACE("codec " + std::to_string(static_cast<int>(c)) + ", first " + std::to_string(len) + " bytes");
            // A copy of exactly len bytes, so ASan catches a read past it.
            std::vector<std::uint8_t> cut(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len));
            reader r;
            const bool opened = r.open_memory(cut.data(), cut.size(), "cut.hkt");
            if (len < sizeof(file_header)) {
                EXPECT_FALSE(opened);
                ASSERT_TRUE(r.error());
                EXPECT_EQ(r.error()->offset, 0u);
                continue;
            }
            ASSERT_TRUE(opened);
            const auto got = drain(r);
            // The chunk the input ends in; the events of the chunks before it, in seq order.
            std::uint64_t chunk_start = sizeof(file_header);
            for (std::size_t k = 0; k < chunk_ends.size() && chunk_ends[k] <= len; ++k) chunk_start = chunk_ends[k];
            std::vector<event> want;
            for (const auto& e : all)
                if (chunk_ends[(e.seq / 6) * 3 + e.seq % 2] <= len) want.push_back(e);
            expect_events(got, want);
            if (len == chunk_start) {
                EXPECT_FALSE(r.error()) << r.error()->describe();
            } else {
                ASSERT_TRUE(r.error());
                EXPECT_EQ(r.error()->offset, chunk_start);
                EXPECT_NE(r.error()->reason.find("truncated"), std::string::npos) << r.error()->reason;
                EXPECT_EQ(r.error()->describe().rfind("cut.hkt: offset " + std::to_string(chunk_start) + ": ", 0), 0u);
            }
            EXPECT_FALSE(r.complete());
        }
    }
}

// One byte flipped in each region of a chunk gives that region's error, at
// that chunk's offset, after the events of the chunks before it.
TEST(TraceReader, FlippedBytesNameTheirRegion) {
    trace_builder b;
    b.w.process(sample_process());
    for (std::uint64_t s = 0; s < 100; ++s) b.alloc(1, op::malloc, s, s, 0x1000 + s * 64, 32, 0, 1);
    b.round(100);
    const std::uint64_t second = b.w.file_bytes();
    for (std::uint64_t s = 100; s < 200; ++s) b.alloc(1, op::malloc, s, s, 0x1000 + s * 64, 32, 0, 1);
    b.round(200);
    const bytes data = b.finish();
    auto read_flipped = [&](std::size_t at, std::uint8_t mask, std::size_t expect_events) {
        bytes d = data;
        d[at] ^= mask;
        reader r;
        EXPECT_TRUE(r.open_memory(d.data(), d.size(), "f.hkt"));
        EXPECT_EQ(drain(r).size(), expect_events) << "flipped byte " << at;
        EXPECT_TRUE(r.error()) << "flipped byte " << at;
        return r.error() ? *r.error() : read_error{};
    };
    // The second round's first chunk (thread 1's events).
    auto e = read_flipped(second + 0, 0x01, 100);
    EXPECT_EQ(e.offset, second);
    EXPECT_EQ(e.reason, "no chunk starts here: magic 0x4b434b49, expected 0x4b434b48 (\"HKCK\")");
    for (std::size_t field = 4; field < 28; ++field) {
        e = read_flipped(second + field, 0x10, 100);
        EXPECT_EQ(e.offset, second);
        EXPECT_EQ(e.reason.rfind("chunk header CRC mismatch (stored 0x", 0), 0u) << e.reason;
    }
    e = read_flipped(second + 28, 0x80, 100);
    EXPECT_EQ(e.reason.rfind("chunk header CRC mismatch", 0), 0u) << e.reason;
    for (std::size_t at = second + 32; at < second + 40; ++at) {
        e = read_flipped(at, 0x04, 100);
        EXPECT_EQ(e.offset, second);
        EXPECT_EQ(e.reason.rfind("chunk payload CRC mismatch (stored 0x", 0), 0u) << e.reason;
        EXPECT_NE(e.reason.find(", computed 0x"), std::string::npos) << e.reason;
    }
    // The file header's magic.
    bytes d = data;
    d[3] ^= 1;
    reader r;
    EXPECT_FALSE(r.open_memory(d.data(), d.size()));
    EXPECT_NE(r.error()->reason.find("not a heapkit trace"), std::string::npos);
}

// Records that pass the chunk's checks but do not decode: the error names
// the record, the field and the byte; events before it are delivered.
std::vector<std::uint8_t> raw_chunk_trace(const bytes& records, std::uint32_t thread = 1) {
    writer w;
    w.open_memory({.compression = codec::none});
    open_chunk& c = w.chunk(thread);
    std::uint8_t* p = c.reserve(records.size());
    std::memcpy(p, records.data(), records.size());
    c.commit(p + records.size());
    w.close();
    return w.bytes();
}

read_error decode_error(const bytes& records, std::size_t expect_events) {
    const bytes data = raw_chunk_trace(records);
    reader r;
    EXPECT_TRUE(r.open_memory(data.data(), data.size()));
    EXPECT_EQ(drain(r).size(), expect_events);
    EXPECT_TRUE(r.error());
    return r.error() ? *r.error() : read_error{};
}

TEST(TraceReader, BadRecordsNameTheirField) {
    const bytes ok_alloc = {0x01, 0x00, 0x05, 0x02, 0x20, 0x08, 0x00};  // malloc seq 5, 8 bytes at 0x10
    bytes rec = ok_alloc;
    rec.insert(rec.end(), {0x01, 0x00, 0x01, 0x02, 0x80});  // addr varint runs past the chunk
    auto e = decode_error(rec, 1);
    EXPECT_EQ(e.offset, 16u);
    EXPECT_EQ(e.reason,
              "record alloc at byte 7 of the chunk's records (thread 1): field addr runs past the end of the chunk "
              "or is malformed");

    rec = ok_alloc;
    rec.insert(rec.end(), {0x01, 0x40, 0x01, 0x02, 0x20, 0x08, 0x00});  // op 64
    e = decode_error(rec, 1);
    EXPECT_NE(e.reason.find("op 64 is not an interposed function"), std::string::npos) << e.reason;

    rec = ok_alloc;
    rec.insert(rec.end(), {0x0a, 0x01, 0x00, 0x05, 'a', 'b'});  // exec path of 5 bytes, 2 left
    e = decode_error(rec, 1);
    EXPECT_NE(e.reason.find("record exec at byte 7"), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find("field path"), std::string::npos) << e.reason;

    rec = {0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};  // an 11-byte varint
    e = decode_error(rec, 0);
    EXPECT_NE(e.reason.find("field seq"), std::string::npos) << e.reason;

    rec = {0x0d, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00};  // module_load with 65535 segments
    e = decode_error(rec, 0);
    EXPECT_NE(e.reason.find("field nseg"), std::string::npos) << e.reason;

    rec = {0x20, 0x01, 0x01, 0x00, 0x00, 0x00, 0xff, 0x7f};  // process: argc 16383, no bytes for them
    e = decode_error(rec, 0);
    EXPECT_NE(e.reason.find("record process at byte 0"), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find("field argc"), std::string::npos) << e.reason;

    rec = ok_alloc;
    rec.insert(rec.end(), {0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0});
    e = decode_error(rec, 1);
    EXPECT_NE(e.reason.find("overflows 64 bits"), std::string::npos) << e.reason;
}

TEST(TraceReader, UnknownKindsStopTheChunkUnlessSized) {
    const bytes ok_alloc = {0x01, 0x00, 0x05, 0x02, 0x20, 0x08, 0x00};
    bytes rec = ok_alloc;
    rec.insert(rec.end(), {0x30, 0x01, 0x02});
    auto e = decode_error(rec, 1);
    EXPECT_EQ(e.reason,
              "unknown record kind 0x30 at byte 7 of the chunk's records (thread 1): written by a newer format (this "
              "reader knows version 1.0); kinds below 0x40 cannot be skipped");

    // A sized kind is skipped whatever its bytes.
    rec = ok_alloc;
    std::uint8_t buf[64];
    std::uint8_t* p = encoder::sized(buf, 0x51, std::string_view("\x01\x02\x30\xff", 4));
    rec.insert(rec.end(), buf, p);
    rec.insert(rec.end(), {0x01, 0x00, 0x01, 0x02, 0x20, 0x08, 0x00});
    const bytes data = raw_chunk_trace(rec);
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size()));
    const auto got = drain(r);
    EXPECT_FALSE(r.error()) << r.error()->describe();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].seq, 6u);
    EXPECT_EQ(got[1].addr, 0x20u) << "delta state carries over the skipped record";
}

TEST(TraceReader, StackIdsFarApartGoToTheSparseTable) {
    writer w;
    w.open_memory();
    w.stack_node(1, 0, 0x10);
    w.stack_node(1ull << 40, 1, 0x20);
    w.stack_node(UINT64_MAX, 1ull << 40, 0x30);
    w.stack_node(1, 0, 0x99);  // a repeated id keeps the first
    w.close();
    reader r;
    ASSERT_TRUE(r.open_memory(w.bytes().data(), w.bytes().size()));
    drain(r);
    EXPECT_EQ(r.stack_count(), 3u);
    EXPECT_EQ(r.stack(1)->ip, 0x10u);
    EXPECT_EQ(r.stack(1ull << 40)->ip, 0x20u);
    EXPECT_EQ(r.stack(UINT64_MAX)->parent, 1ull << 40);
    EXPECT_EQ(r.stack(2), nullptr);
}

// Millions of events with few live blocks: what the reader holds stays one
// writer round, whatever the trace's length.
TEST(TraceReader, MemoryStaysWithinOneRound) {
    trace_builder b;  // expected events are not kept here: too many
    writer& w = b.w;
    w.process(sample_process());
    constexpr std::uint64_t events = 2'000'000, per_round = 5000;
    std::uint64_t seq = 0;
    while (seq < events) {
        for (std::uint64_t i = 0; i < per_round; i += 2) {
            const auto t = static_cast<std::uint32_t>(1 + (seq / 2) % 3);
            const std::uint64_t addr = 0x100000 + (seq % 64) * 32;
            w.chunk(t).append(alloc_record_max, [&](std::uint8_t* p, encoder& e) {
                return e.alloc(p, op::malloc, seq, seq, addr, 32, 0, 1);
            });
            w.chunk(t).append(free_record_max, [&](std::uint8_t* p, encoder& e) {
                return e.free(p, op::free, seq + 1, seq, addr, 0, 0, 1);
            });
            seq += 2;
        }
        w.round(seq);
    }
    const bytes& data = b.finish();
    reader r;
    ASSERT_TRUE(r.open_memory(data.data(), data.size()));
    event e;
    std::uint64_t n = 0;
    std::size_t most_held = 0;
    while (r.next(e)) {
        ASSERT_EQ(e.seq, n);
        ++n;
        most_held = std::max(most_held, r.held_events());
    }
    EXPECT_FALSE(r.error());
    EXPECT_EQ(n, events);
    EXPECT_LE(r.peak_held_events(), per_round);
    EXPECT_EQ(most_held + 1, r.peak_held_events() == 0 ? 1 : r.peak_held_events()) << "one event is out at a time";
}

}  // namespace
