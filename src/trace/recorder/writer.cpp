// writer: drain rounds, chunks, the trace file and the writer thread. See writer.hpp.
#include "trace/recorder/writer.hpp"

#include "trace/encode.hpp"
#include "trace/recorder/append.hpp"
#include "trace/recorder/os.hpp"
#include "trace/recorder/session.hpp"
#include "trace/recorder/spinlock.hpp"
#include "trace/recorder/threads.hpp"
#include "trace/recorder/transcode.hpp"

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>

namespace heapkit::trace::recorder {
namespace {

constexpr std::size_t raw_capacity = ring_bytes + (256u << 10);
constexpr std::uint64_t round_ns = 5'000'000;
constexpr std::uint64_t rss_every_ns = 10'000'000;
constexpr std::uint64_t inflight_patience_ns = 200'000'000;

spinlock drain_lock;
spinlock start_lock;  // serialises writer_start (and is held across fork)
int fd = -1;
dev_t fd_dev = 0;  // the trace file's identity: a program that dup2()s over our descriptor
ino_t fd_ino = 0;  // must not get trace chunks in its own file
ZSTD_CCtx* cctx = nullptr;
std::uint8_t* raw = nullptr;  // raw_capacity
constexpr std::size_t side_capacity = 256u << 10;
std::uint8_t* side_raw = nullptr;  // side_capacity: signal handlers' records (transcode.hpp)
std::uint8_t* packed = nullptr;    // ZSTD_compressBound(raw_capacity)
std::size_t packed_capacity = 0;
std::uint64_t last_rss = 0;
bool write_failed = false;

std::atomic<bool> running{false};
std::atomic<bool> stopping{false};
pthread_t thread;
std::uint32_t wake_word = 0;
std::uint32_t rounds_done = 0;  // bumped after every round; producers waiting for room sleep on it
std::atomic<std::uint32_t> room_waiters{0};

// zstd's memory: whole mappings, the size in front.
void* zstd_alloc(void*, std::size_t n) {
    auto* p = static_cast<std::uint8_t*>(map_pages(n + 64));
    if (p == nullptr) return nullptr;
    std::memcpy(p, &n, sizeof n);
    return p + 64;
}
void zstd_free(void*, void* q) {
    if (q == nullptr) return;
    auto* p = static_cast<std::uint8_t*>(q) - 64;
    std::size_t n;
    std::memcpy(&n, p, sizeof n);
    unmap_pages(p, n + 64);
}

bool ensure_buffers() noexcept {
    if (cctx != nullptr) return true;
    raw = static_cast<std::uint8_t*>(map_pages(raw_capacity));
    side_raw = static_cast<std::uint8_t*>(map_pages(side_capacity));
    packed_capacity = ZSTD_compressBound(raw_capacity);
    packed = static_cast<std::uint8_t*>(map_pages(packed_capacity));
    ZSTD_customMem mem{zstd_alloc, zstd_free, nullptr};
    cctx = ZSTD_createCCtx_advanced(mem);
    if (raw == nullptr || side_raw == nullptr || packed == nullptr || cctx == nullptr) return false;
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
    return true;
}

// Whether fd is still the trace file we opened (the program may have closed it or reused the number).
bool still_ours() noexcept {
    struct stat st {};
    if (::syscall(SYS_fstat, fd, &st) != 0 || st.st_dev != fd_dev || st.st_ino != fd_ino) {
        write_failed = true;
        static const char msg[] =
            "heapkit-profile: the program closed or replaced the trace file's descriptor; "
            "the trace ends here\n";
        (void)!::write(2, msg, sizeof msg - 1);
        return false;
    }
    return true;
}

// Writes one chunk: header and payload in one writev (retried until whole).
bool write_header_and_payload(const chunk_header& h, const std::uint8_t* payload, std::size_t n) noexcept {
    iovec iov[2] = {{const_cast<chunk_header*>(&h), sizeof h}, {const_cast<std::uint8_t*>(payload), n}};
    const long w = ::syscall(SYS_writev, fd, iov, 2);
    if (w == static_cast<long>(sizeof h + n)) return true;
    if (w < 0 && errno != EINTR) return false;
    // a short write (or EINTR): the rest with plain writes
    std::size_t done = w > 0 ? static_cast<std::size_t>(w) : 0;
    if (done < sizeof h) {
        if (!write_all(fd, reinterpret_cast<const std::uint8_t*>(&h) + done, sizeof h - done)) return false;
        done = sizeof h;
    }
    return write_all(fd, payload + (done - sizeof h), n - (done - sizeof h));
}

void write_chunk(std::uint32_t slot_id, const std::uint8_t* data, std::size_t n, std::uint64_t first_seq) noexcept {
    if (fd < 0 || n == 0 || write_failed) return;
    codec c = codec::zstd;
    const std::uint8_t* stored = packed;
    std::size_t stored_n = ZSTD_compress2(cctx, packed, packed_capacity, data, n);
    if (ZSTD_isError(stored_n) || stored_n >= n) {
        c = codec::none;
        stored = data;
        stored_n = n;
    }
    const chunk_header h = make_chunk_header(c, slot_id, std::span<const std::uint8_t>(stored, stored_n),
                                             static_cast<std::uint32_t>(n), first_seq);
    if (!write_header_and_payload(h, stored, stored_n)) {
        write_failed = true;
        static const char msg[] = "heapkit-profile: write to the trace file failed; the trace ends here\n";
        (void)!::write(2, msg, sizeof msg - 1);
    }
}

// Waits until no slot but the caller's is mid-append; false after the patience runs out.
bool wait_in_flight() noexcept {
    const slot* own = tls_state.s;
    const std::uint32_t high = slot_high.load(std::memory_order_acquire);
    std::uint64_t deadline = 0;
    for (std::uint32_t i = shared_slot_id; i < high; ++i) {
        slot& s = slot_table[i];
        if (&s == own) continue;
        const std::uint32_t g = s.gen.load(std::memory_order_seq_cst);
        if ((g & 1) == 0) continue;
        for (unsigned spins = 0; s.gen.load(std::memory_order_acquire) == g; ++spins) {
            if (spins < 128) {
                __builtin_ia32_pause();
                continue;
            }
            const std::uint64_t now = clock_ns(CLOCK_MONOTONIC);
            if (deadline == 0) deadline = now + inflight_patience_ns;
            if (now > deadline) return false;
            ::sched_yield();
        }
    }
    return true;
}

// The producer's committed position and its encoder's state there, read
// consistently (`gen` even and unchanged around the reads); false: the
// producer stayed busy.
bool snapshot(slot& s, std::uint64_t& committed, decode_state& at) noexcept {
    for (int tries = 0; tries < 64; ++tries) {
        const std::uint32_t g1 = s.gen.load(std::memory_order_acquire);
        if ((g1 & 1) != 0) {
            __builtin_ia32_pause();
            continue;
        }
        committed = s.r.committed.load(std::memory_order_acquire);
        at.seq = __atomic_load_n(&s.enc.last_seq, __ATOMIC_RELAXED);
        at.time = __atomic_load_n(&s.enc.last_time, __ATOMIC_RELAXED);
        at.addr = __atomic_load_n(&s.enc.last_addr, __ATOMIC_RELAXED);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.gen.load(std::memory_order_relaxed) == g1) return true;
    }
    return false;
}

// The fast path: [from, to) holds no signal handler's record and no padding
// but before a wrap; re-encode until anchored, copy the rest. false: it did
// not apply (nothing was consumed; the caller transcodes).
bool drain_copying(slot& s, std::uint64_t from, std::uint64_t to, const decode_state& at_to, chunk_out& main) noexcept {
    ring& r = s.r;
    bool seq_anchored = false, addr_anchored = false;
    decode_state st = s.wr;
    std::uint64_t at = from;
    while (at < to) {
        const std::size_t off = static_cast<std::size_t>(at % ring_bytes);
        std::size_t n = static_cast<std::size_t>(to - at);
        if (off + n > ring_bytes) {  // up to the wrap, without its padding
            n = ring_bytes - off;
            const std::uint64_t boundary = at + n;
            const std::uint64_t pad = __atomic_load_n(&r.pad_at[(boundary / ring_bytes) & 1], __ATOMIC_RELAXED);
            if (pad < at || pad > boundary || boundary - pad > 64 * 1024) return false;
            n = static_cast<std::size_t>(pad - at);
            at = boundary - n;  // so that `at += n` below lands on the boundary
        }
        const std::uint8_t* p = r.data + off;
        const std::uint8_t* end = p + n;
        if (!(seq_anchored && addr_anchored)) {
            p = transcode_until_anchored(p, end, st, main, seq_anchored, addr_anchored);
            if (p == nullptr) return false;
        }
        const std::size_t rest = static_cast<std::size_t>(end - p);
        if (rest > 0) {
            std::memcpy(main.at, p, rest);
            main.at += rest;
        }
        at += n;
    }
    s.wr = at_to;
    return true;
}

void drain_slot(slot& s) noexcept {
    ring& r = s.r;
    if (r.data == nullptr) return;
    std::uint64_t to = 0;
    decode_state at_to;
    const bool consistent = snapshot(s, to, at_to);
    if (!consistent) to = r.committed.load(std::memory_order_acquire);
    const std::uint64_t irregular_until = r.irregular_until.load(std::memory_order_acquire);
    const std::uint64_t from = r.consumed.load(std::memory_order_relaxed);
    if (to > from) {
        chunk_out main{raw, raw + raw_capacity, {}};
        chunk_out side{side_raw, side_raw + side_capacity, {}};
        bool copied = false;
        if (consistent && irregular_until <= from) {
            copied = drain_copying(s, from, to, at_to, main);
            if (!copied) main = chunk_out{raw, raw + raw_capacity, {}};
        }
        if (!copied) {
            bool ok = true;
            std::uint64_t at = from;
            while (at < to && ok) {  // at most two pieces: to the end of the buffer, then from its start
                const std::size_t off = static_cast<std::size_t>(at % ring_bytes);
                std::size_t n = static_cast<std::size_t>(to - at);
                if (off + n > ring_bytes) n = ring_bytes - off;
                ok = transcode(r.data + off, n, s.wr, main, side);
                at += n;
            }
        }
        write_chunk(s.id, raw, static_cast<std::size_t>(main.at - raw), main.first_seq);
        write_chunk(s.id, side_raw, static_cast<std::size_t>(side.at - side_raw), side.first_seq);
        if (side.dropped != 0) s.lost.fetch_add(side.dropped, std::memory_order_relaxed);
        r.consumed.store(to, std::memory_order_release);
        __atomic_store_n(&s.nudged, false, __ATOMIC_RELAXED);
    }
    if (s.state.load(std::memory_order_acquire) == slot_state::ended &&
        r.committed.load(std::memory_order_acquire) == r.consumed.load(std::memory_order_relaxed))
        s.state.store(slot_state::free, std::memory_order_release);
}

}  // namespace

int writer_open_file(const char* base, bool try_base, long pid, char* path_out, std::size_t cap) noexcept {
    for (int attempt = try_base ? 0 : 1; attempt < 1000; ++attempt) {
        char* p = put_cstr(path_out, base, cap - 48);
        if (attempt >= 1) {
            *p++ = '.';
            p = put_decimal(p, static_cast<std::uint64_t>(pid));
        }
        if (attempt >= 2) {
            *p++ = '.';
            put_decimal(p, static_cast<std::uint64_t>(attempt - 1));
        }
        long f = ::syscall(SYS_openat, AT_FDCWD, path_out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f >= 0) {
            // A high number, out of the way of programs that dup2 onto small ones.
            const long high = ::syscall(SYS_fcntl, f, F_DUPFD_CLOEXEC, 900);
            if (high >= 0) {
                ::syscall(SYS_close, f);
                f = high;
            }
            file_header h{};
            std::memcpy(h.magic, file_magic, sizeof h.magic);
            h.version_major = version_major;
            h.version_minor = version_minor;
            if (!write_all(static_cast<int>(f), &h, sizeof h)) {
                ::syscall(SYS_close, f);
                return -1;
            }
            return static_cast<int>(f);
        }
        if (errno != EEXIST) return -1;
    }
    return -1;
}

void writer_set_fd(int f) noexcept {
    fd = f;
    write_failed = false;
    struct stat st {};
    if (f >= 0 && ::syscall(SYS_fstat, f, &st) == 0) {
        fd_dev = st.st_dev;
        fd_ino = st.st_ino;
    }
    ensure_buffers();
}
int writer_fd() noexcept { return fd; }

void writer_write_meta(const std::uint8_t* data, std::size_t n) noexcept {
    lock_guard g(drain_lock);
    if (!ensure_buffers() || fd < 0 || !still_ours()) return;
    write_chunk(0, data, n, 0);
}

void drain_round(int end_how_plus_one, std::int64_t status) noexcept {
    lock_guard g(drain_lock);
    if (fd < 0 || !ensure_buffers()) return;
    if (!write_failed) still_ours();  // checked once a round; after a failure rounds still empty the rings
    std::uint8_t meta[256];
    encoder e;
    std::uint8_t* m = meta;
    const std::uint64_t now = coarse_now_ns();
    if (now - last_rss >= rss_every_ns || end_how_plus_one != 0) {
        last_rss = now;
        char statm[128];
        const long n = read_small_file("/proc/self/statm", statm, sizeof statm - 1);
        if (n > 0) {
            statm[n] = '\0';
            std::uint64_t size = 0, resident = 0;
            const char* c = statm;
            while (*c >= '0' && *c <= '9') size = size * 10 + static_cast<std::uint64_t>(*c++ - '0');
            while (*c == ' ') ++c;
            while (*c >= '0' && *c <= '9') resident = resident * 10 + static_cast<std::uint64_t>(*c++ - '0');
            const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
            m = e.rss(m, global_seq.fetch_add(1), event_time(), resident * page, size * page);
        }
    }
    const std::uint64_t G = global_seq.load(std::memory_order_seq_cst);
    const bool settled = wait_in_flight();
    const std::uint32_t high = slot_high.load(std::memory_order_acquire);
    std::uint64_t lost = 0;
    for (std::uint32_t i = shared_slot_id; i < high; ++i) {
        drain_slot(slot_table[i]);
        lost += slot_table[i].lost.exchange(0, std::memory_order_relaxed);
    }
    if (lost != 0) m = encoder::lost(m, lost);
    if (settled) m = encoder::watermark(m, G);
    if (end_how_plus_one != 0)
        m = e.end(m, global_seq.fetch_add(1), event_time(), static_cast<end_how>(end_how_plus_one - 1), status);
    write_chunk(0, meta, static_cast<std::size_t>(m - meta), 0);
    __atomic_fetch_add(&rounds_done, 1, __ATOMIC_RELEASE);
    if (room_waiters.load(std::memory_order_acquire) != 0)
        ::syscall(SYS_futex, &rounds_done, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

namespace {

void* writer_main(void*) {
    tls_state.is_writer = true;
    while (!stopping.load(std::memory_order_acquire)) {
        futex_wait(&wake_word, 0, round_ns);
        __atomic_store_n(&wake_word, 0, __ATOMIC_RELAXED);
        if (stopping.load(std::memory_order_acquire)) break;
        drain_round();
    }
    return nullptr;
}

}  // namespace

void writer_start() noexcept {
    if (running.load(std::memory_order_acquire) || fd < 0) return;
    lock_guard g(start_lock);
    if (running.load(std::memory_order_relaxed)) return;
    thread_state& t = tls_state;
    ++t.internal;
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    stopping.store(false, std::memory_order_relaxed);
    pthread_attr_t attr;
    ::pthread_attr_init(&attr);
    ::pthread_attr_setstacksize(&attr, 256u << 10);
    const int saved = errno;
    if (::pthread_create(&thread, &attr, writer_main, nullptr) == 0) running.store(true, std::memory_order_release);
    errno = saved;
    ::pthread_attr_destroy(&attr);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    --t.internal;
}

void writer_stop() noexcept {
    if (!running.load(std::memory_order_acquire)) return;
    stopping.store(true, std::memory_order_release);
    writer_wake();
    thread_state& t = tls_state;
    ++t.internal;
    ::pthread_join(thread, nullptr);
    --t.internal;
    running.store(false, std::memory_order_release);
}

bool writer_running() noexcept { return running.load(std::memory_order_acquire); }

void writer_wake() noexcept {
    if (__atomic_exchange_n(&wake_word, 1, __ATOMIC_RELAXED) == 0) futex_wake(&wake_word);
}

void writer_lock() noexcept {
    start_lock.lock();
    drain_lock.lock();
}
void writer_unlock() noexcept {
    drain_lock.unlock();
    start_lock.unlock();
}
void writer_after_fork() noexcept {
    drain_lock.reset();
    start_lock.reset();
    running.store(false, std::memory_order_relaxed);
    stopping.store(false, std::memory_order_relaxed);
    wake_word = 0;
    last_rss = 0;
}

}  // namespace heapkit::trace::recorder

namespace heapkit::trace::recorder {

bool make_room(slot& s, std::size_t bytes) noexcept {
    for (unsigned tries = 0; tries < 10000; ++tries) {
        if (s.r.free_bytes(bytes) >= bytes) return true;
        if (session_phase.load(std::memory_order_acquire) != phase::open) return false;
        if (writer_running()) {  // sleep until the writer's next round ends (or 2 ms)
            const std::uint32_t seen = __atomic_load_n(&rounds_done, __ATOMIC_ACQUIRE);
            room_waiters.fetch_add(1, std::memory_order_acq_rel);
            writer_wake();
            futex_wait(&rounds_done, seen, 2'000'000);
            room_waiters.fetch_sub(1, std::memory_order_acq_rel);
        } else {
            drain_round();
            if (s.r.free_bytes(bytes) < bytes) return false;
        }
    }
    return false;
}

void nudge_writer(slot& s) noexcept {
    s.nudged = true;
    if (writer_running()) writer_wake();
}

}  // namespace heapkit::trace::recorder
