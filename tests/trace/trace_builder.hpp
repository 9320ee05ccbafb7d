// Test helper: writes a trace through trace::writer and keeps, beside it,
// the events a reader must deliver (trace::event, exact fields), so tests
// compare what the reader decodes with what was written.
//
//   trace_builder b;                       // in memory, codec from options
//   b.alloc(1, op::malloc, seq, t, addr, size);
//   b.round(next_seq);                     // cut all chunks, then a watermark
//   b.finish();  b.bytes(), b.expected (in seq order)
#pragma once

#include "trace/reader.hpp"
#include "trace/writer.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace heapkit::trace::testing {

// Every field of an event on one line, for EXPECT_EQ messages.
inline std::string show(const event& e) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "kind=%u op=%u seq=%llu time=%llu thread=%u addr=%#llx new_addr=%#llx size=%llu old_size=%llu "
                  "align=%llu stack=%llu value=%lld flags=%llu fd=%lld text='",
                  static_cast<unsigned>(e.kind), static_cast<unsigned>(e.operation),
                  static_cast<unsigned long long>(e.seq), static_cast<unsigned long long>(e.time_ns), e.thread,
                  static_cast<unsigned long long>(e.addr), static_cast<unsigned long long>(e.new_addr),
                  static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(e.old_size),
                  static_cast<unsigned long long>(e.align), static_cast<unsigned long long>(e.stack),
                  static_cast<long long>(e.value), static_cast<unsigned long long>(e.flags),
                  static_cast<long long>(e.fd));
    return buf + e.text + "'";
}

class trace_builder {
public:
    explicit trace_builder(const writer_options& o = {.compression = codec::zstd}) { w.open_memory(o); }

    writer w;
    std::vector<event> expected;  // in the order written; sorted() gives seq order

    void alloc(std::uint32_t t, op o, std::uint64_t seq, std::uint64_t time, std::uint64_t addr,
               std::uint64_t size, std::uint64_t align = 0, std::uint64_t stack = 0) {
        w.chunk(t).append(alloc_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.alloc(p, o, seq, time, addr, size, align, stack);
        });
        event e = base(record::alloc, t, seq, time);
        e.operation = o;
        e.addr = addr;
        e.size = size;
        e.align = op_has_align(o) ? align : 0;
        e.stack = stack;
        expected.push_back(e);
    }
    void free(std::uint32_t t, op o, std::uint64_t seq, std::uint64_t time, std::uint64_t addr,
              std::uint64_t size = 0, std::uint64_t align = 0, std::uint64_t stack = 0) {
        w.chunk(t).append(free_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.free(p, o, seq, time, addr, size, align, stack);
        });
        event e = base(record::free, t, seq, time);
        e.operation = o;
        e.addr = addr;
        e.size = op_has_size(o) ? size : 0;
        e.align = op_has_align(o) ? align : 0;
        e.stack = stack;
        expected.push_back(e);
    }
    void realloc(std::uint32_t t, op o, std::uint64_t seq, std::uint64_t time, std::uint64_t old_addr,
                 std::uint64_t new_addr, std::uint64_t size, std::uint64_t stack = 0) {
        w.chunk(t).append(realloc_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.realloc(p, o, seq, time, old_addr, new_addr, size, stack);
        });
        event e = base(record::realloc, t, seq, time);
        e.operation = o;
        e.addr = old_addr;
        e.new_addr = new_addr;
        e.size = size;
        e.stack = stack;
        expected.push_back(e);
    }
    void mmap(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint64_t addr, std::uint64_t length,
              std::uint64_t prot, std::uint64_t flags, std::int64_t fd, std::uint64_t stack) {
        w.chunk(t).append(mapping_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.mmap(p, seq, time, addr, length, prot, flags, fd, stack);
        });
        event e = base(record::mmap, t, seq, time);
        e.addr = addr;
        e.size = length;
        e.value = static_cast<std::int64_t>(prot);
        e.flags = flags;
        e.fd = fd;
        e.stack = stack;
        expected.push_back(e);
    }
    void munmap(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint64_t addr, std::uint64_t length,
                std::uint64_t stack) {
        w.chunk(t).append(mapping_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.munmap(p, seq, time, addr, length, stack);
        });
        event e = base(record::munmap, t, seq, time);
        e.addr = addr;
        e.size = length;
        e.stack = stack;
        expected.push_back(e);
    }
    void mremap(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint64_t old_addr,
                std::uint64_t old_length, std::uint64_t new_addr, std::uint64_t new_length, std::uint64_t stack) {
        w.chunk(t).append(mapping_record_max, [&](std::uint8_t* p, encoder& e) {
            return e.mremap(p, seq, time, old_addr, old_length, new_addr, new_length, stack);
        });
        event e = base(record::mremap, t, seq, time);
        e.addr = old_addr;
        e.old_size = old_length;
        e.new_addr = new_addr;
        e.size = new_length;
        e.stack = stack;
        expected.push_back(e);
    }
    void rss(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint64_t resident, std::uint64_t virt) {
        w.chunk(t).append(small_record_max,
                          [&](std::uint8_t* p, encoder& e) { return e.rss(p, seq, time, resident, virt); });
        event e = base(record::rss, t, seq, time);
        e.size = resident;
        e.old_size = virt;
        expected.push_back(e);
    }
    void main_start(std::uint32_t t, std::uint64_t seq, std::uint64_t time) {
        w.chunk(t).append(small_record_max, [&](std::uint8_t* p, encoder& e) { return e.main_start(p, seq, time); });
        expected.push_back(base(record::main_start, t, seq, time));
    }
    void fork(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint64_t pid, const std::string& child) {
        w.chunk(t).append(small_record_max + child.size(),
                          [&](std::uint8_t* p, encoder& e) { return e.fork(p, seq, time, pid, child); });
        event e = base(record::fork, t, seq, time);
        e.value = static_cast<std::int64_t>(pid);
        e.text = child;
        expected.push_back(e);
    }
    void exec(std::uint32_t t, std::uint64_t seq, std::uint64_t time, const std::string& path) {
        w.chunk(t).append(small_record_max + path.size(),
                          [&](std::uint8_t* p, encoder& e) { return e.exec(p, seq, time, path); });
        event e = base(record::exec, t, seq, time);
        e.text = path;
        expected.push_back(e);
    }
    void thread_start(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint32_t slot, std::uint64_t tid,
                      const std::string& name) {
        w.chunk(t).append(small_record_max + name.size(), [&](std::uint8_t* p, encoder& e) {
            return e.thread_start(p, seq, time, slot, tid, name);
        });
        event e = base(record::thread_start, slot, seq, time);
        e.value = static_cast<std::int64_t>(tid);
        e.text = name;
        expected.push_back(e);
    }
    void thread_end(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint32_t slot) {
        w.chunk(t).append(small_record_max,
                          [&](std::uint8_t* p, encoder& e) { return e.thread_end(p, seq, time, slot); });
        event e = base(record::thread_end, slot, seq, time);
        e.value = slot;
        expected.push_back(e);
    }
    void module_load(std::uint32_t t, std::uint64_t seq, std::uint64_t time, const module_info& m) {
        const std::string_view build_id(reinterpret_cast<const char*>(m.build_id.data()), m.build_id.size());
        w.chunk(t).append(small_record_max + m.path.size() + m.build_id.size() + 4 * max_varint_bytes * (1 + m.segments.size()),
                          [&](std::uint8_t* p, encoder& e) {
                              p = e.module_load(p, seq, time, m.id, m.base, m.path, build_id);
                              p = put_varint(p, m.segments.size());
                              for (const auto& s : m.segments) p = encoder::module_segment(p, s.start, s.size, s.flags);
                              return p;
                          });
        event e = base(record::module_load, t, seq, time);
        e.value = static_cast<std::int64_t>(m.id);
        e.addr = m.base;
        e.text = m.path;
        expected.push_back(e);
    }
    void module_unload(std::uint32_t t, std::uint64_t seq, std::uint64_t time, std::uint64_t id) {
        w.chunk(t).append(small_record_max,
                          [&](std::uint8_t* p, encoder& e) { return e.module_unload(p, seq, time, id); });
        event e = base(record::module_unload, t, seq, time);
        e.value = static_cast<std::int64_t>(id);
        expected.push_back(e);
    }
    void end(std::uint32_t t, std::uint64_t seq, std::uint64_t time, end_how how, std::int64_t status) {
        w.chunk(t).append(small_record_max,
                          [&](std::uint8_t* p, encoder& e) { return e.end(p, seq, time, how, status); });
        event e = base(record::end, t, seq, time);
        e.flags = static_cast<std::uint64_t>(how);
        e.value = status;
        expected.push_back(e);
    }

    void round(std::uint64_t seq) { w.round(seq); }
    const std::vector<std::uint8_t>& finish() {
        w.close();
        return w.bytes();
    }
    std::vector<event> sorted() const {
        auto v = expected;
        std::stable_sort(v.begin(), v.end(), [](const event& a, const event& b) { return a.seq < b.seq; });
        return v;
    }

private:
    static event base(record k, std::uint32_t t, std::uint64_t seq, std::uint64_t time) {
        event e;
        e.kind = k;
        e.thread = t;
        e.seq = seq;
        e.time_ns = time;
        return e;
    }
};

// A process record with every field set.
inline process_info sample_process() {
    process_info p;
    p.pid = 4242;
    p.ppid = 1;
    p.start_realtime_ns = 1733380000123456789ull;
    p.start_monotonic_ns = 987654321;
    p.exe = "/usr/bin/prog";
    p.argv = {"prog", "--flag", "", "a b"};
    p.parent_trace = "prog.hkt";
    p.previous_trace = "old.hkt.4242";
    p.sample_rate = 0;
    p.page_size = 4096;
    p.recorder = "heapkit-profile 0.1.0";
    return p;
}

// Every record kind, with the extremes of its fields.
inline void every_kind(trace_builder& b) {
    b.w.process(sample_process());
    b.w.stack_node(1, 0, 0x401000);
    b.w.stack_node(2, 1, 0x7fffffffe000);
    b.w.stack_node(3, 2, UINT64_MAX);
    b.w.lost(5);
    b.w.lost(7);
    module_info m;
    m.id = 1;
    m.base = 0x555555554000;
    m.path = "/usr/bin/prog";
    m.build_id = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
    m.segments = {{0x555555554000, 0x1000, 4}, {0x555555555000, 0x3000, 5}, {0x555555558000, 0x2000, 6}};
    b.module_load(0, 0, 10, m);
    b.main_start(0, 1, 20);
    b.thread_start(0, 2, 25, 1, 4243, "worker");
    b.alloc(1, op::malloc, 3, 30, 0x5000, 24, 0, 3);
    b.alloc(1, op::posix_memalign, 4, 31, 0x7000, 100, 64, 2);
    b.alloc(1, op::new_array_aligned_nothrow, 5, 29, 0x9000, 1 << 20, 4096, 1);  // time steps back
    b.alloc(1, op::malloc, 6, 40, 0, UINT64_MAX, 0, 0);                          // failed
    b.free(1, op::free, 7, 41, 0x5000);
    b.free(1, op::delete_sized, 8, 42, 0x7000, 100);
    b.free(1, op::delete_array_sized_aligned, 9, 43, 0x9000, 1 << 20, 4096, 3);
    b.realloc(1, op::realloc, 10, 44, 0, 0xa000, 10, 1);                // realloc(NULL, n)
    b.realloc(1, op::reallocarray, 11, 45, 0xa000, 0x4000, 200, 2);     // moved down
    b.realloc(1, op::realloc, 12, 46, 0x4000, 0, 1ull << 40, 2);        // failed
    b.realloc(1, op::realloc, 13, 47, 0x4000, 0, 0, 2);                 // freed
    b.mmap(1, 14, 48, 0x7f0000000000, 1 << 21, 3, 0x22, -1, 3);
    b.mmap(1, 15, 48, 0x7f0000400000, 4096, 1, 0x1, 7, 0);
    b.mremap(1, 16, 49, 0x7f0000000000, 1 << 21, 0x7e0000000000, 1 << 22, 3);
    b.munmap(1, 17, 50, 0x7e0000000000, 1 << 22, 0);
    b.rss(0, 18, 51, 123 << 20, 456ull << 30);
    b.fork(2, 19, 52, 4300, "prog.hkt.4300");
    b.module_unload(2, 20, 53, 1);
    b.thread_end(2, 21, 54, 1);
    b.exec(2, 22, 55, "/bin/sh");
    b.end(2, 23, 56, end_how::exec, -3);
    b.round(24);
}

// Every event a reader delivers, until next() returns false.
inline std::vector<event> drain(reader& r) {
    std::vector<event> out;
    event e;
    while (r.next(e)) out.push_back(e);
    return out;
}

}  // namespace heapkit::trace::testing
