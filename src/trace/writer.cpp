// writer: see writer.hpp. Chunks are compressed with one reused ZSTD_CCtx;
// a chunk that zstd does not shrink is stored raw (codec::none).
#include "trace/writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

namespace heapkit::trace {

std::uint8_t* open_chunk::reserve(std::size_t max) {
    if (used_ > 0 && used_ + max > owner_->options_.chunk_bytes) owner_->cut_chunk(*this);
    if (buf_.size() < used_ + max) buf_.resize(used_ + max + used_ / 2);
    reserved_ = true;
    return buf_.data() + used_;
}

void open_chunk::commit(std::uint8_t* end) {
    const std::uint8_t* start = buf_.data() + used_;
    const auto kind = *start;
    if (!has_event_ && kind >= static_cast<std::uint8_t>(record::alloc) &&
        kind <= static_cast<std::uint8_t>(record::end)) {
        has_event_ = true;
        first_seq_ = enc.last_seq;
    }
    used_ = static_cast<std::size_t>(end - buf_.data());
    reserved_ = false;
}

writer::writer() = default;

writer::~writer() {
    if (fd_ >= 0) ::close(fd_);
    ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
}

bool writer::open(const std::string& path, const writer_options& o) {
    options_ = o;
    options_.chunk_bytes = std::min<std::size_t>(options_.chunk_bytes, max_chunk_bytes);
    path_ = path;
    to_memory_ = false;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        error_ = "trace writer: cannot create " + path + ": " + std::strerror(errno);
        return false;
    }
    file_header h{};
    std::memcpy(h.magic, file_magic, sizeof h.magic);
    h.version_major = version_major;
    h.version_minor = version_minor;
    return write_bytes(&h, sizeof h);
}

void writer::open_memory(const writer_options& o) {
    options_ = o;
    options_.chunk_bytes = std::min<std::size_t>(options_.chunk_bytes, max_chunk_bytes);
    path_ = "<memory>";
    to_memory_ = true;
    memory_.clear();
    file_header h{};
    std::memcpy(h.magic, file_magic, sizeof h.magic);
    h.version_major = version_major;
    h.version_minor = version_minor;
    write_bytes(&h, sizeof h);
}

open_chunk& writer::chunk(std::uint32_t thread) {
    for (auto& c : open_)
        if (c->thread_ == thread) return *c;
    auto c = std::make_unique<open_chunk>();
    c->owner_ = this;
    c->thread_ = thread;
    open_.push_back(std::move(c));
    return *open_.back();
}

bool writer::cut(std::uint32_t thread) { return cut_chunk(chunk(thread)); }

bool writer::cut() {
    bool ok = true;
    for (auto& c : open_) ok = cut_chunk(*c) && ok;
    return ok;
}

bool writer::cut_chunk(open_chunk& c) {
    if (c.used_ == 0) return true;
    if (c.used_ > max_chunk_bytes) {  // one record of more than 16 MiB: no reader would take the chunk
        if (error_.empty())
            error_ = "trace writer: a chunk of " + std::to_string(c.used_) + " bytes exceeds the format's limit of " +
                     std::to_string(max_chunk_bytes) + " (a record too large?)";
        c.used_ = 0;
        c.has_event_ = false;
        c.enc.reset();
        return false;
    }
    const std::span<const std::uint8_t> raw{c.buf_.data(), c.used_};
    codec used = codec::none;
    std::span<const std::uint8_t> stored = raw;
    if (options_.compression == codec::zstd) {
        if (cctx_ == nullptr) cctx_ = ZSTD_createCCtx();
        stored_.resize(ZSTD_compressBound(raw.size()));
        const std::size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx_), stored_.data(), stored_.size(),
                                                raw.data(), raw.size(), options_.zstd_level);
        if (!ZSTD_isError(n) && n < raw.size()) {
            used = codec::zstd;
            stored = {stored_.data(), n};
        }
    }
    const chunk_header h = make_chunk_header(used, c.thread_, stored, static_cast<std::uint32_t>(raw.size()),
                                             c.has_event_ ? c.first_seq_ : 0);
    raw_total_ += raw.size();
    ++chunk_count_;
    c.used_ = 0;
    c.has_event_ = false;
    c.first_seq_ = 0;
    c.enc.reset();
    return write_bytes(&h, sizeof h) && write_bytes(stored.data(), stored.size());
}

void writer::process(const process_info& p) {
    std::size_t max = small_record_max + 8 * max_varint_bytes + p.exe.size() + p.parent_trace.size() +
                      p.previous_trace.size() + p.recorder.size();
    for (const auto& a : p.argv) max += max_varint_bytes + a.size();
    chunk(0).append(max, [&](std::uint8_t* q, encoder&) {
        q = encoder::process_head(q, p.pid, p.ppid, p.start_realtime_ns, p.start_monotonic_ns, p.exe, p.argv.size());
        for (const auto& a : p.argv) q = encoder::put_string(q, a);
        return encoder::process_tail(q, p.parent_trace, p.previous_trace, p.sample_rate, p.page_size, p.recorder);
    });
}

void writer::stack_node(std::uint64_t id, std::uint64_t parent, std::uint64_t ip) {
    chunk(0).append(small_record_max,
                    [&](std::uint8_t* q, encoder&) { return encoder::stack_node(q, id, parent, ip); });
}

void writer::lost(std::uint64_t count) {
    chunk(0).append(small_record_max, [&](std::uint8_t* q, encoder&) { return encoder::lost(q, count); });
}

bool writer::watermark(std::uint64_t seq) {
    chunk(0).append(small_record_max, [&](std::uint8_t* q, encoder&) { return encoder::watermark(q, seq); });
    return cut(0);
}

bool writer::round(std::uint64_t seq) { return cut() && watermark(seq); }

bool writer::close() {
    bool ok = cut();
    if (fd_ >= 0) {
        if (::close(fd_) != 0 && ok) {
            error_ = "trace writer: closing " + path_ + ": " + std::strerror(errno);
            ok = false;
        }
        fd_ = -1;
    }
    return ok && error_.empty();
}

bool writer::write_bytes(const void* p, std::size_t n) {
    written_ += n;
    if (to_memory_) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        memory_.insert(memory_.end(), b, b + n);
        return true;
    }
    if (fd_ < 0) {
        if (error_.empty()) error_ = "trace writer: write without an open file (call open() first)";
        return false;
    }
    const auto* b = static_cast<const char*>(p);
    while (n > 0) {
        const ssize_t w = ::write(fd_, b, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (error_.empty()) error_ = "trace writer: writing " + path_ + ": " + std::strerror(errno);
            return false;
        }
        b += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace heapkit::trace
