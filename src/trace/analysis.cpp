// analysis: the one streaming pass of analysis.hpp. The per-event work is a
// handful of hash-map probes (the block, its site) and counter updates; the
// timeline and snapshot bookkeeping run only when their interval is crossed.
#include "trace/analysis.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <utility>

namespace heapkit::trace {
namespace {

// Open addressing with linear probing over a power-of-two table; key 0 marks
// an empty slot (callers never use key 0). Erase shifts the following run
// back, so there are no tombstones and probe sequences stay short.
template <class Value>
class flat_map {
public:
    flat_map() { table_.resize(16); }

    Value* find(std::uint64_t key) {
        for (std::size_t i = slot(key);; i = (i + 1) & mask()) {
            if (table_[i].key == key) return &table_[i].value;
            if (table_[i].key == 0) return nullptr;
        }
    }
    // Inserts key (absent or present) and returns its value.
    Value& insert(std::uint64_t key, const Value& v) {
        if ((size_ + 1) * 4 > table_.size() * 3) grow();
        std::size_t i = slot(key);
        while (table_[i].key != 0 && table_[i].key != key) i = (i + 1) & mask();
        if (table_[i].key == 0) ++size_;
        table_[i].key = key;
        table_[i].value = v;
        return table_[i].value;
    }
    bool erase(std::uint64_t key) {
        std::size_t i = slot(key);
        while (table_[i].key != key) {
            if (table_[i].key == 0) return false;
            i = (i + 1) & mask();
        }
        // backward-shift deletion
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & mask(); table_[j].key != 0; j = (j + 1) & mask()) {
            const std::size_t home = slot(table_[j].key);
            // move j into the hole if its home is not in (hole, j] cyclically
            const bool in_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (!in_between) {
                table_[hole] = table_[j];
                hole = j;
            }
        }
        table_[hole].key = 0;
        --size_;
        return true;
    }
    template <class F>
    void for_each(F&& f) const {
        for (const entry& e : table_)
            if (e.key != 0) f(e.key, e.value);
    }
    std::size_t size() const { return size_; }

private:
    struct entry {
        std::uint64_t key = 0;
        Value value{};
    };
    std::size_t mask() const { return table_.size() - 1; }
    std::size_t slot(std::uint64_t key) const {
        key ^= key >> 33;
        key *= 0xff51afd7ed558ccdULL;
        key ^= key >> 33;
        return static_cast<std::size_t>(key) & mask();
    }
    void grow() {
        std::vector<entry> old(table_.size() * 2);
        old.swap(table_);
        size_ = 0;
        for (const entry& e : old)
            if (e.key != 0) insert(e.key, e.value);
    }
    std::vector<entry> table_;
    std::size_t size_ = 0;
};

struct block {
    std::uint64_t size = 0;
    std::uint32_t site = 0;
};

struct thread_state {
    std::uint64_t last_alloc = 0;  // the block of the thread's last allocation, if no call followed it
};

class analyzer {
public:
    analyzer(analysis& a, const analysis_options& o) : a_(a), opt_(o) {
        if (opt_.timeline_points < 2) opt_.timeline_points = 2;
        if (opt_.max_snapshots < 2) opt_.max_snapshots = 2;
    }

    void on_event(const event& e) {
        ++a_.events;
        a_.last_seq = e.seq;
        now_ = std::max(now_, e.time_ns);  // the coarse clock may step back a little
        switch (e.kind) {
            case record::alloc:
                on_alloc(e);
                break;
            case record::free:
                on_free(e);
                break;
            case record::realloc:
                on_realloc(e);
                break;
            case record::mmap:
                ++a_.mmap_calls;
                a_.mmap_bytes += e.size;
                break;
            case record::munmap:
                ++a_.munmap_calls;
                a_.munmap_bytes += e.size;
                break;
            case record::mremap:
                ++a_.mremap_calls;
                break;
            case record::rss:
                if (e.size > a_.peak_rss_bytes) {
                    a_.peak_rss_bytes = e.size;
                    a_.peak_rss_time_ns = now_;
                }
                note_rss(e.size);
                break;
            case record::main_start:
                if (!a_.main_seen) {
                    a_.main_seen = true;
                    a_.main_seq = e.seq;
                    a_.main_time_ns = now_;
                }
                break;
            case record::fork:
                a_.forks.push_back({e.seq, now_, e.value, e.text});
                break;
            case record::exec:
                a_.exec_path = e.text;
                break;
            case record::end:
                a_.complete = true;
                a_.how = static_cast<end_how>(e.flags);
                a_.status = e.value;
                break;
            default:
                break;
        }
        if (a_.events >= next_snapshot_) take_snapshot(e);
    }

    void finish() {
        a_.duration_ns = now_;
        // sites untouched since the last peak still hold their live bytes of it
        for (site_stats& s : a_.sites) {
            if (s.peak_epoch < epoch_) s.peak_bytes = s.live_bytes;
            s.peak_epoch = 0;
        }
        if (!a_.main_seen) {
            a_.before_main_bytes = 0;
            a_.before_main_calls = 0;
        }
        // the last point: the heap as the trace ends
        if (a_.timeline.empty() || a_.timeline.back().time_ns < now_ ||
            a_.timeline.back().heap_bytes != a_.live_bytes) {
            if (a_.timeline.size() >= opt_.timeline_points) compress_timeline();
            a_.timeline.push_back({now_, a_.live_bytes, std::nullopt});
        }
        // a single snapshot of a trace too short for the interval
        if (a_.snapshots.empty() && a_.events > 0) take_snapshot_at(a_.last_seq);
    }

private:
    thread_state& thread(std::uint32_t slot) {
        if (slot >= threads_.size()) {
            threads_.resize(slot + 1);
            a_.threads.resize(slot + 1);
            for (std::uint32_t i = 0; i <= slot; ++i) a_.threads[i].slot = i;
        }
        return threads_[slot];
    }

    std::uint32_t site_of(std::uint64_t stack) {
        if (stack == last_stack_ && last_site_ != UINT32_MAX) return last_site_;
        std::uint32_t* idx = site_index_.find(stack + 1);
        std::uint32_t i;
        if (idx != nullptr) {
            i = *idx;
        } else {
            i = static_cast<std::uint32_t>(a_.sites.size());
            a_.sites.push_back({});
            a_.sites.back().stack = stack;
            site_index_.insert(stack + 1, i);
        }
        last_stack_ = stack;
        last_site_ = i;
        return i;
    }

    // Before a site's live bytes change: keep its bytes at the last peak.
    void touch(site_stats& s) {
        if (s.peak_epoch < epoch_) {
            s.peak_bytes = s.live_bytes;
            s.peak_epoch = epoch_;
        }
    }

    void count_call(const event& e, thread_stats& t) {
        const auto o = static_cast<std::size_t>(e.operation);
        if (o < a_.calls.size()) ++a_.calls[o];
        ++t.calls;
        if (!a_.main_seen) ++a_.before_main_calls;
    }

    void add_block(std::uint64_t addr, std::uint64_t size, std::uint32_t site, thread_stats& t) {
        site_stats& s = a_.sites[site];
        ++s.allocations;
        s.allocated_bytes += size;
        ++a_.allocations;
        a_.allocated_bytes += size;
        ++t.allocations;
        t.allocated_bytes += size;
        if (!a_.main_seen) a_.before_main_bytes += size;
        const std::size_t b = histogram_bucket(size);
        ++a_.histogram_count[b];
        a_.histogram_bytes[b] += size;

        if (block* old = blocks_.find(addr); old != nullptr) {  // a free we never saw
            ++a_.replaced_live;
            drop_block(*old);
        }
        blocks_.insert(addr, {size, site});
        touch(s);
        s.live_bytes += size;
        ++s.live_blocks;
        a_.live_bytes += size;
        ++a_.live_blocks;
        if (a_.live_bytes > a_.peak_heap_bytes) {
            a_.peak_heap_bytes = a_.live_bytes;
            a_.peak_time_ns = now_;
            a_.peak_seq = a_.last_seq;
            ++epoch_;
        }
        note_heap();
    }

    void drop_block(const block& b) {
        site_stats& s = a_.sites[b.site];
        touch(s);
        s.live_bytes -= b.size;
        --s.live_blocks;
        a_.live_bytes -= b.size;
        --a_.live_blocks;
    }

    // Removes a live block; false when the address is not live.
    bool remove_block(std::uint64_t addr, std::uint32_t* site = nullptr) {
        block* b = blocks_.find(addr);
        if (b == nullptr) return false;
        const block copy = *b;
        blocks_.erase(addr);
        drop_block(copy);
        if (site != nullptr) *site = copy.site;
        note_heap();
        return true;
    }

    void on_alloc(const event& e) {
        thread_state& ts = thread(e.thread);
        thread_stats& t = a_.threads[e.thread];
        count_call(e, t);
        ++a_.allocation_calls;
        const std::uint32_t site = site_of(e.stack);
        ++a_.sites[site].calls;
        if (e.addr == 0) {
            ++a_.failed;
            ++a_.sites[site].failed;
            ts.last_alloc = 0;
            return;
        }
        add_block(e.addr, e.size, site, t);
        ts.last_alloc = e.addr;
    }

    void on_free(const event& e) {
        thread_state& ts = thread(e.thread);
        thread_stats& t = a_.threads[e.thread];
        count_call(e, t);
        const std::uint64_t last = ts.last_alloc;
        ts.last_alloc = 0;
        if (e.addr == 0) {
            ++a_.free_null;
            return;
        }
        std::uint32_t owner = 0;
        if (!remove_block(e.addr, &owner)) {
            ++a_.unknown_frees;
            return;
        }
        ++a_.frees;
        ++t.frees;
        ++a_.sites[site_of(e.stack)].frees;
        if (last == e.addr) {
            ++a_.temporary;
            ++a_.sites[owner].temporary;
            ++t.temporary;
        }
    }

    void on_realloc(const event& e) {
        thread_state& ts = thread(e.thread);
        thread_stats& t = a_.threads[e.thread];
        count_call(e, t);
        ++a_.allocation_calls;
        ts.last_alloc = 0;
        const std::uint32_t site = site_of(e.stack);
        ++a_.sites[site].calls;
        if (e.new_addr == 0 && e.size == 0 && e.addr != 0) {  // realloc(p, 0) freed p
            ++a_.realloc_freed;
            if (remove_block(e.addr)) {
                ++a_.frees;
                ++t.frees;
                ++a_.sites[site].frees;
            } else {
                ++a_.unknown_frees;
            }
            return;
        }
        if (e.new_addr == 0) {  // failed; the old block (if any) is kept
            ++a_.failed;
            ++a_.realloc_failed;
            ++a_.sites[site].failed;
            return;
        }
        if (e.addr == 0) {
            ++a_.realloc_null;
        } else {
            if (e.addr == e.new_addr)
                ++a_.realloc_in_place;
            else
                ++a_.realloc_moved;
            if (!remove_block(e.addr)) ++a_.unknown_frees;
        }
        add_block(e.new_addr, e.size, site, t);
        ts.last_alloc = e.new_addr;
    }

    // ---- the timeline: buckets of width_ ns, merged in pairs when full ----
    timeline_point& bucket_for_now() {
        std::uint64_t b = now_ / width_;
        while (b >= opt_.timeline_points) {
            compress_timeline();
            b = now_ / width_;
        }
        if (a_.timeline.empty() || a_.timeline.back().time_ns / width_ != b) {
            if (a_.timeline.size() >= opt_.timeline_points) compress_timeline();
            a_.timeline.push_back({now_, a_.live_bytes, std::nullopt});
        }
        return a_.timeline.back();
    }
    void note_heap() {
        timeline_point& p = bucket_for_now();
        if (a_.live_bytes > p.heap_bytes) {
            p.heap_bytes = a_.live_bytes;
            p.time_ns = now_;
        }
    }
    void note_rss(std::uint64_t rss) {
        timeline_point& p = bucket_for_now();
        if (!p.rss_bytes || rss > *p.rss_bytes) p.rss_bytes = rss;
    }
    void compress_timeline() {
        width_ *= 2;
        std::vector<timeline_point>& tl = a_.timeline;
        std::size_t out = 0;
        for (std::size_t i = 0; i < tl.size(); ++i) {
            if (out > 0 && tl[out - 1].time_ns / width_ == tl[i].time_ns / width_) {
                timeline_point& m = tl[out - 1];
                if (tl[i].heap_bytes > m.heap_bytes) {
                    m.heap_bytes = tl[i].heap_bytes;
                    m.time_ns = tl[i].time_ns;
                }
                if (tl[i].rss_bytes && (!m.rss_bytes || *tl[i].rss_bytes > *m.rss_bytes)) m.rss_bytes = tl[i].rss_bytes;
            } else {
                tl[out++] = tl[i];
            }
        }
        tl.resize(out);
    }

    // ---- snapshots: every interval_ events, thinned by half when full ----
    void take_snapshot(const event& e) {
        take_snapshot_at(e.seq);
        snapshot_events_.push_back(a_.events);
        if (a_.snapshots.size() > opt_.max_snapshots) {
            interval_ *= 2;
            std::size_t out = 0;
            for (std::size_t i = 0; i < a_.snapshots.size(); ++i) {
                if (snapshot_events_[i] % interval_ != 0) continue;
                a_.snapshots[out] = std::move(a_.snapshots[i]);
                snapshot_events_[out] = snapshot_events_[i];
                ++out;
            }
            a_.snapshots.resize(out);
            snapshot_events_.resize(out);
        }
        next_snapshot_ = (a_.events / interval_ + 1) * interval_;
    }
    void take_snapshot_at(std::uint64_t seq) {
        heap_snapshot s;
        s.seq = seq;
        s.time_ns = now_;
        for (std::size_t i = 0; i < a_.sites.size(); ++i)
            if (a_.sites[i].live_bytes != 0) s.live.emplace_back(i, a_.sites[i].live_bytes);
        a_.snapshots.push_back(std::move(s));
    }

    analysis& a_;
    analysis_options opt_;
    std::uint64_t now_ = 0;
    std::uint64_t epoch_ = 0;  // grows each time the live heap passes its peak
    flat_map<block> blocks_;
    flat_map<std::uint32_t> site_index_;  // stack id + 1 -> index in a_.sites
    std::uint64_t last_stack_ = 0;
    std::uint32_t last_site_ = UINT32_MAX;
    std::vector<thread_state> threads_;
    std::uint64_t width_ = 1'000'000;  // timeline bucket width, ns
    std::uint64_t interval_ = 16;      // events between snapshots (doubles)
    std::uint64_t next_snapshot_ = 16;
    std::vector<std::uint64_t> snapshot_events_;  // the event count at each snapshot
};

}  // namespace

const site_stats* analysis::site(std::uint64_t stack) const {
    for (const site_stats& s : sites)
        if (s.stack == stack) return &s;
    return nullptr;
}

analysis analyze(reader& r, const analysis_options& options) {
    analysis a;
    a.process = r.process();
    analyzer z(a, options);
    event e;
    while (r.next(e)) z.on_event(e);
    z.finish();
    a.error = r.error();
    a.lost_events = r.lost_events();
    a.process = r.process();  // the process record may come after the first events
    for (const thread_info& t : r.threads()) {
        if (t.slot >= a.threads.size()) continue;
        a.threads[t.slot].tid = t.tid;
        a.threads[t.slot].name = t.name;
    }
    return a;
}

std::string describe_end(const analysis& a) {
    if (!a.complete) return "incomplete";
    switch (a.how) {
        case end_how::exit:
            return "exit " + std::to_string(a.status);
        case end_how::exit_now:
            return "_exit " + std::to_string(a.status);
        case end_how::abort:
            return "abort";
        case end_how::unload:
            return "unloaded";
        case end_how::exec:
            return "exec";
    }
    return "end " + std::to_string(static_cast<int>(a.how));
}

}  // namespace heapkit::trace
