// synthetic_trace: builds traces with known contents for the report's tests,
// through trace::writer. Every call takes the next sequence number; time is
// set explicitly (ns) and stays until changed. Events go to the chunk of the
// given recorder thread slot; each round() ends a writer round (chunks cut,
// then a watermark), as the recorder's writer thread does.
//
//   synthetic_trace t;                          // in memory; or t.open_file(path)
//   t.process(1234, {"prog", "arg"});
//   t.stack(1, 0, 0x1000);                      // id, parent, ip
//   t.at(1'000'000).alloc(0x100, 64, 1);        // addr, size, stack
//   t.free(0x100, 1);
//   t.end(0);
//   auto bytes = t.finish();
#pragma once

#include "trace/encode.hpp"
#include "trace/reader.hpp"
#include "trace/writer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace heapkit::test {

class synthetic_trace {
public:
    using u64 = std::uint64_t;

    explicit synthetic_trace(trace::codec c = trace::codec::zstd) {
        opts_.compression = c;
        w_.open_memory(opts_);
    }
    bool open_file(const std::string& path) { return w_.open(path, opts_); }

    synthetic_trace& process(u64 pid, std::vector<std::string> argv, u64 ppid = 1, std::string parent_trace = {}) {
        trace::process_info p;
        p.pid = pid;
        p.ppid = ppid;
        p.exe = argv.empty() ? std::string() : argv[0];
        p.argv = std::move(argv);
        p.parent_trace = std::move(parent_trace);
        p.page_size = 4096;
        p.recorder = "synthetic";
        w_.process(p);
        return *this;
    }
    synthetic_trace& stack(u64 id, u64 parent, u64 ip) {
        w_.stack_node(id, parent, ip);
        return *this;
    }
    synthetic_trace& at(u64 time_ns) {
        time_ = time_ns;
        return *this;
    }
    synthetic_trace& on(std::uint32_t slot) {
        slot_ = slot;
        return *this;
    }
    u64 next_seq() const { return seq_; }

    synthetic_trace& alloc(u64 addr, u64 size, u64 stack, trace::op o = trace::op::malloc, u64 align = 0) {
        const u64 s = seq_++;
        w_.chunk(slot_).append(trace::alloc_record_max, [&](std::uint8_t* p, trace::encoder& e) {
            return e.alloc(p, o, s, time_, addr, size, align, stack);
        });
        return *this;
    }
    synthetic_trace& free(u64 addr, u64 stack, trace::op o = trace::op::free, u64 size = 0) {
        const u64 s = seq_++;
        w_.chunk(slot_).append(trace::free_record_max, [&](std::uint8_t* p, trace::encoder& e) {
            return e.free(p, o, s, time_, addr, size, 0, stack);
        });
        return *this;
    }
    synthetic_trace& realloc(u64 old_addr, u64 new_addr, u64 size, u64 stack) {
        const u64 s = seq_++;
        w_.chunk(slot_).append(trace::realloc_record_max, [&](std::uint8_t* p, trace::encoder& e) {
            return e.realloc(p, trace::op::realloc, s, time_, old_addr, new_addr, size, stack);
        });
        return *this;
    }
    synthetic_trace& mmap(u64 addr, u64 length) {
        const u64 s = seq_++;
        w_.chunk(slot_).append(trace::mapping_record_max, [&](std::uint8_t* p, trace::encoder& e) {
            return e.mmap(p, s, time_, addr, length, 3, 0x22, -1, 0);
        });
        return *this;
    }
    synthetic_trace& munmap(u64 addr, u64 length) {
        const u64 s = seq_++;
        w_.chunk(slot_).append(trace::mapping_record_max, [&](std::uint8_t* p, trace::encoder& e) {
            return e.munmap(p, s, time_, addr, length, 0);
        });
        return *this;
    }
    synthetic_trace& rss(u64 resident) {
        const u64 s = seq_++;
        w_.chunk(0).append(trace::small_record_max, [&](std::uint8_t* p, trace::encoder& e) {
            return e.rss(p, s, time_, resident, resident * 2);
        });
        return *this;
    }
    synthetic_trace& main_start() {
        const u64 s = seq_++;
        w_.chunk(slot_).append(trace::small_record_max,
                               [&](std::uint8_t* p, trace::encoder& e) { return e.main_start(p, s, time_); });
        return *this;
    }
    synthetic_trace& fork(u64 child_pid, const std::string& child_trace) {
        const u64 s = seq_++;
        w_.chunk(slot_).append(trace::small_record_max + child_trace.size(), [&](std::uint8_t* p, trace::encoder& e) {
            return e.fork(p, s, time_, child_pid, child_trace);
        });
        return *this;
    }
    synthetic_trace& thread_start(std::uint32_t slot, u64 tid, const std::string& name) {
        const u64 s = seq_++;
        w_.chunk(slot).append(trace::small_record_max + name.size(), [&](std::uint8_t* p, trace::encoder& e) {
            return e.thread_start(p, s, time_, slot, tid, name);
        });
        return *this;
    }
    synthetic_trace& module(const trace::module_info& m) {
        const u64 s = seq_++;
        const std::string bid(m.build_id.begin(), m.build_id.end());
        w_.chunk(0).append(trace::small_record_max + m.path.size() + bid.size() + 10 + m.segments.size() * 30,
                           [&](std::uint8_t* p, trace::encoder& e) {
                               p = e.module_load(p, s, time_, m.id, m.base, m.path, bid);
                               p = trace::put_varint(p, m.segments.size());
                               for (const trace::module_segment& g : m.segments)
                                   p = trace::encoder::module_segment(p, g.start, g.size, g.flags);
                               return p;
                           });
        return *this;
    }
    synthetic_trace& end(std::int64_t status, trace::end_how how = trace::end_how::exit) {
        const u64 s = seq_++;
        w_.chunk(0).append(trace::small_record_max,
                           [&](std::uint8_t* p, trace::encoder& e) { return e.end(p, s, time_, how, status); });
        return *this;
    }
    synthetic_trace& round() {
        w_.round(seq_);
        return *this;
    }
    // Closes the trace; in memory, its bytes.
    std::vector<std::uint8_t> finish() {
        w_.round(seq_);
        w_.close();
        return w_.bytes();
    }

private:
    trace::writer_options opts_;
    trace::writer w_;
    u64 seq_ = 1;
    u64 time_ = 0;
    std::uint32_t slot_ = 1;
};

}  // namespace heapkit::test
