// transcode: ring stream -> self-contained chunk records. See transcode.hpp.
#include "trace/recorder/transcode.hpp"

#include "trace/recorder/append.hpp"

#include <string_view>

namespace heapkit::trace::recorder {
namespace {

// A bounded cursor over one record's bytes.
struct cursor {
    const std::uint8_t* p;
    const std::uint8_t* end;
    bool ok = true;

    std::uint64_t v() noexcept {
        std::uint64_t x = 0;
        if (ok && !get_varint(p, end, x)) ok = false;
        return x;
    }
    std::uint8_t u8() noexcept {
        if (!ok || p >= end) {
            ok = false;
            return 0;
        }
        return *p++;
    }
    std::string_view str() noexcept {
        const std::uint64_t n = v();
        if (!ok || n > static_cast<std::uint64_t>(end - p)) {
            ok = false;
            return {};
        }
        std::string_view s(reinterpret_cast<const char*>(p), n);
        p += n;
        return s;
    }
    std::uint64_t seq(decode_state& st) noexcept { return st.seq += v(); }
    std::uint64_t time(decode_state& st) noexcept { return st.time += static_cast<std::uint64_t>(unzigzag(v())); }
    std::uint64_t addr(decode_state& st) noexcept { return st.addr += static_cast<std::uint64_t>(unzigzag(v())); }
};

// Decodes one record at c (its kind byte already read) with st, writes it with e at out.
std::uint8_t* one(std::uint8_t kind, cursor& c, decode_state& st, encoder& e, std::uint8_t* out,
                  std::uint64_t& first_seq) noexcept {
    auto note = [&](std::uint64_t s) {
        if (first_seq == 0) first_seq = s;
        return s;
    };
    switch (static_cast<record>(kind)) {
        case record::alloc: {
            const op o = static_cast<op>(c.u8());
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), a = c.addr(st), size = c.v();
            const std::uint64_t align = op_has_align(o) ? c.v() : 0;
            const std::uint64_t stack = c.v();
            return c.ok ? e.alloc(out, o, seq, t, a, size, align, stack) : out;
        }
        case record::free: {
            const op o = static_cast<op>(c.u8());
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), a = c.addr(st);
            const std::uint64_t size = op_has_size(o) ? c.v() : 0;
            const std::uint64_t align = op_has_align(o) ? c.v() : 0;
            const std::uint64_t stack = c.v();
            return c.ok ? e.free(out, o, seq, t, a, size, align, stack) : out;
        }
        case record::realloc: {
            const op o = static_cast<op>(c.u8());
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), old_addr = c.addr(st), new_addr = c.addr(st);
            const std::uint64_t size = c.v(), stack = c.v();
            return c.ok ? e.realloc(out, o, seq, t, old_addr, new_addr, size, stack) : out;
        }
        case record::mmap: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), a = c.addr(st), len = c.v(), prot = c.v(),
                                flags = c.v();
            const std::int64_t fd = unzigzag(c.v());
            const std::uint64_t stack = c.v();
            return c.ok ? e.mmap(out, seq, t, a, len, prot, flags, fd, stack) : out;
        }
        case record::munmap: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), a = c.addr(st), len = c.v(), stack = c.v();
            return c.ok ? e.munmap(out, seq, t, a, len, stack) : out;
        }
        case record::mremap: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), old_addr = c.addr(st), old_len = c.v(),
                                new_addr = c.addr(st), new_len = c.v(), stack = c.v();
            return c.ok ? e.mremap(out, seq, t, old_addr, old_len, new_addr, new_len, stack) : out;
        }
        case record::main_start: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st);
            return c.ok ? e.main_start(out, seq, t) : out;
        }
        case record::fork: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), pid = c.v();
            const std::string_view path = c.str();
            return c.ok ? e.fork(out, seq, t, pid, path) : out;
        }
        case record::exec: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st);
            const std::string_view path = c.str();
            return c.ok ? e.exec(out, seq, t, path) : out;
        }
        case record::thread_start: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), slot_id = c.v(), tid = c.v();
            const std::string_view name = c.str();
            return c.ok ? e.thread_start(out, seq, t, static_cast<std::uint32_t>(slot_id), tid, name) : out;
        }
        case record::thread_end: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), slot_id = c.v();
            return c.ok ? e.thread_end(out, seq, t, static_cast<std::uint32_t>(slot_id)) : out;
        }
        case record::module_load: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), id = c.v(), base = c.v();
            const std::string_view path = c.str(), build_id = c.str();
            const std::uint64_t nseg = c.v();
            if (!c.ok || nseg > 64) {
                c.ok = false;
                return out;
            }
            std::uint64_t seg[64][3];
            for (std::uint64_t i = 0; i < nseg; ++i) {
                seg[i][0] = c.v();
                seg[i][1] = c.v();
                seg[i][2] = c.v();
            }
            if (!c.ok) return out;
            out = e.module_load(out, seq, t, id, base, path, build_id);
            out = put_varint(out, nseg);
            for (std::uint64_t i = 0; i < nseg; ++i)
                out = encoder::module_segment(out, seg[i][0], seg[i][1], static_cast<std::uint32_t>(seg[i][2]));
            return out;
        }
        case record::module_unload: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st), id = c.v();
            return c.ok ? e.module_unload(out, seq, t, id) : out;
        }
        case record::end: {
            const std::uint64_t seq = note(c.seq(st)), t = c.time(st);
            const std::uint8_t how = c.u8();
            const std::int64_t status = unzigzag(c.v());
            return c.ok ? e.end(out, seq, t, static_cast<end_how>(how), status) : out;
        }
        case record::stack_node: {
            const std::uint64_t id = c.v(), parent = c.v(), ip = c.v();
            return c.ok ? encoder::stack_node(out, id, parent, ip) : out;
        }
        case record::lost: {
            const std::uint64_t n = c.v();
            return c.ok ? encoder::lost(out, n) : out;
        }
        default:
            c.ok = false;
            return out;
    }
}

}  // namespace

bool transcode(const std::uint8_t* in, std::size_t n, decode_state& st, chunk_out& main, chunk_out& side) noexcept {
    cursor c{in, in + n};
    while (c.p < c.end) {
        std::uint8_t kind = *c.p++;
        if (kind == ring_padding) continue;
        if (kind == ring_absolute) {
            if (c.p >= c.end) return false;
            kind = *c.p++;
            decode_state zero{};
            if (side.at + 256 > side.limit) {  // decoded all the same, to step over it
                std::uint8_t scratch[512];
                encoder e;
                std::uint64_t s0 = 0;
                one(kind, c, zero, e, scratch, s0);
                ++side.dropped;
            } else {
                side.at = one(kind, c, zero, side.enc, side.at, side.first_seq);
            }
        } else {
            main.at = one(kind, c, st, main.enc, main.at, main.first_seq);
        }
        if (!c.ok) return false;
    }
    return true;
}

const std::uint8_t* transcode_until_anchored(const std::uint8_t* in, const std::uint8_t* end, decode_state& st,
                                             chunk_out& main, bool& seq_anchored, bool& addr_anchored) noexcept {
    cursor c{in, end};
    while (c.p < c.end && !(seq_anchored && addr_anchored)) {
        const std::uint8_t kind = *c.p++;
        if (kind == ring_padding) continue;
        if (kind == ring_absolute) return nullptr;  // the caller promised none
        main.at = one(kind, c, st, main.enc, main.at, main.first_seq);
        if (!c.ok) return nullptr;
        const auto k = static_cast<record>(kind);
        if (k <= record::end) seq_anchored = true;
        if (k == record::alloc || k == record::free || k == record::realloc || k == record::mmap ||
            k == record::munmap || k == record::mremap)
            addr_anchored = true;
    }
    return c.p;
}

}  // namespace heapkit::trace::recorder
