// writer: a simple trace writer for tests and tools. It writes the file
// header, then chunks built from records appended through trace::encoder,
// compressed with zstd (or stored raw) and framed with make_chunk_header.
// It is not the recorder's hot path: it allocates (std::vector) freely.
//
//   trace::writer w;
//   w.open("t.hkt");                        // or w.open_memory(); w.bytes() afterwards
//   w.process(info);                        // a process record into thread 0's chunk
//   auto& c = w.chunk(1);                   // thread 1's open chunk
//   c.append(alloc_record_max, [&](std::uint8_t* p, encoder& e) {
//       return e.alloc(p, op::malloc, seq, t, addr, size, 0, stack); });
//   w.round(next_seq);                      // cut every open chunk, then a watermark
//   w.close();
//
// Data structure: one open chunk per thread slot (a byte buffer and the
// encoder's delta state), kept in a small vector searched linearly. cut()
// turns an open chunk into a chunk of the file; a chunk is cut on its own
// when it would grow past options::chunk_bytes (only between records).
//
// Invariants: the file header is written by open(); every byte appended to
// an open chunk belongs to whole records (append() writes one record); a
// chunk's encoder state is reset whenever the chunk is cut, so each chunk
// decodes on its own.
#pragma once

#include "trace/encode.hpp"
#include "trace/format.hpp"
#include "trace/reader.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace heapkit::trace {

struct writer_options {
    codec compression = codec::zstd;     // codec::none stores the records as they are
    int zstd_level = 1;                  // 1..3 keep the writer fast
    std::size_t chunk_bytes = 1u << 20;  // an open chunk is cut before growing past this (raw bytes)
};

// The records of one thread slot that have not been cut into a chunk yet.
class open_chunk {
public:
    // Room for `max` bytes at the end of the chunk; cuts the chunk first when
    // it would outgrow writer_options::chunk_bytes. Call commit() with the
    // end of what was written (at most `max` bytes). Reserve a whole record
    // at once: the chunk may be cut here, never inside a record.
    std::uint8_t* reserve(std::size_t max);
    void commit(std::uint8_t* end);

    // One record: f(p, encoder&) writes it at p and returns its end.
    template <class F>
    void append(std::size_t max, F&& f) {
        std::uint8_t* p = reserve(max);
        commit(f(p, enc));
    }

    std::uint32_t thread() const { return thread_; }
    std::size_t size() const { return used_; }  // raw bytes appended since the last cut

    encoder enc;  // delta state of this chunk; reset by every cut

private:
    friend class writer;
    class writer* owner_ = nullptr;
    std::uint32_t thread_ = 0;
    std::vector<std::uint8_t> buf_;  // buf_.size() >= used_; bytes past used_ are scratch
    std::size_t used_ = 0;           // bytes of whole records
    std::uint64_t first_seq_ = 0;    // seq of the chunk's first event, once has_event_
    bool has_event_ = false;
    bool reserved_ = false;  // between reserve() and commit()
};

class writer {
public:
    writer();
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    // Creates (truncates) a file and writes the file header. false: error() says why.
    bool open(const std::string& path, const writer_options& o = {});
    // Writes into memory instead; bytes() holds the trace.
    void open_memory(const writer_options& o = {});

    // The open chunk of a thread slot (created empty on first use).
    open_chunk& chunk(std::uint32_t thread);

    // Compresses and writes the open chunk of `thread` (nothing if it is empty).
    bool cut(std::uint32_t thread);
    // Cuts every open chunk, in the order the slots were first used.
    bool cut();

    // Helpers for metadata records, appended to thread 0's open chunk.
    void process(const process_info& p);
    void stack_node(std::uint64_t id, std::uint64_t parent, std::uint64_t ip);
    void lost(std::uint64_t count);
    // A watermark record into thread 0's chunk, which is then cut. The caller
    // must have cut every chunk holding events below `seq` first: round() does.
    bool watermark(std::uint64_t seq);
    // The end of a writer round: cut every chunk, then watermark(seq).
    bool round(std::uint64_t seq);

    // Cuts every open chunk and closes the file. false: error() says why.
    // A writer destroyed without close() drops its open chunks, as a killed
    // recorder would.
    bool close();

    const std::vector<std::uint8_t>& bytes() const { return memory_; }  // open_memory() only
    std::uint64_t file_bytes() const { return written_; }  // bytes written so far (header included)
    std::uint64_t raw_bytes() const { return raw_total_; }  // record bytes before compression
    std::uint64_t chunks() const { return chunk_count_; }
    const std::string& error() const { return error_; }

private:
    friend class open_chunk;
    bool write_bytes(const void* p, std::size_t n);
    bool cut_chunk(open_chunk& c);

    writer_options options_;
    int fd_ = -1;
    bool to_memory_ = false;
    std::string path_;
    std::vector<std::uint8_t> memory_;
    std::vector<std::unique_ptr<open_chunk>> open_;  // one per thread slot used
    std::vector<std::uint8_t> stored_;               // compression output, reused
    void* cctx_ = nullptr;                           // ZSTD_CCtx
    std::uint64_t written_ = 0, raw_total_ = 0, chunk_count_ = 0;
    std::string error_;
};

}  // namespace heapkit::trace
