// The benchmark workload of bench/run_rust_bench.sh: typical std collection
// use in five phases, each timed on its own. examples/bench_system.rs and
// bench_heapkit.rs run it under System and under Heapkit; the script runs
// them alternately and compares medians.
//
//   vec       Vec<u64> grown by push to sizes from 1 to 200k, sorted; Vec<Vec<u8>> of small rows
//   string    format!, push_str, split_whitespace + to_string, to_uppercase, join
//   hashmap   HashMap<String, Vec<u32>>: 100k inserts, lookups, half removed, refilled
//   btreemap  BTreeMap<u64, String>: 200k inserts in random order, range scans, removals
//   threads   two threads building strings and freeing each other's batches
//
// Printed (one line each, for the script): "<phase> <wall ms> <cpu ms>"
// (CPU: user + system time of the whole process, which the other programs
// on a loaded machine disturb less than the wall time), then "total ...",
// "peak_rss_kib <VmHWM>", "checksum <n>" (the same under every allocator,
// or the script stops).
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn mix(sum: &mut u64, x: u64) {
    *sum = sum.wrapping_mul(0x100_0000_01B3).wrapping_add(x);
}

fn vec_phase(rng: &mut Rng, sum: &mut u64) {
    for round in 0..60 {
        let n = 1 + (rng.next() % 200_000) as usize;
        let mut v: Vec<u64> = Vec::new();
        for _ in 0..n {
            v.push(rng.next() % 1_000_000);
        }
        v.sort_unstable();
        v.dedup();
        mix(sum, v.len() as u64 + v[v.len() / 2]);
        let rows: Vec<Vec<u8>> = (0..20_000).map(|i| vec![(i + round) as u8; 1 + i % 100]).collect();
        mix(sum, rows.iter().map(|r| r.len() as u64).sum());
    }
}

fn string_phase(rng: &mut Rng, sum: &mut u64) {
    for _ in 0..20 {
        let mut text = String::new();
        for i in 0..40_000 {
            text.push_str(&format!("word{} ", rng.next() % 5000 + i % 7));
        }
        let words: Vec<String> = text.split_whitespace().map(|w| w.to_string()).collect();
        let upper: Vec<String> = words.iter().filter(|w| w.len() > 6).map(|w| w.to_uppercase()).collect();
        let joined = upper.join(",");
        mix(sum, words.len() as u64 + joined.len() as u64);
    }
}

fn hashmap_phase(rng: &mut Rng, sum: &mut u64) {
    for _ in 0..2 {
        let mut map: HashMap<String, Vec<u32>> = HashMap::new();
        for i in 0..100_000u32 {
            let key = format!("key-{}", rng.next() % 75_000);
            map.entry(key).or_default().push(i);
        }
        let mut hits = 0u64;
        for i in 0..100_000u64 {
            if let Some(v) = map.get(&format!("key-{}", i)) {
                hits += v.len() as u64;
            }
        }
        let keys: Vec<String> = map.keys().filter(|k| k.len() % 2 == 0).cloned().collect();
        for k in keys.iter() {
            map.remove(k);
        }
        for i in 0..50_000u32 {
            map.insert(format!("new-{}", i), vec![i; (i % 8) as usize]);
        }
        mix(sum, hits + map.len() as u64);
    }
}

fn btreemap_phase(rng: &mut Rng, sum: &mut u64) {
    for _ in 0..2 {
        let mut map: BTreeMap<u64, String> = BTreeMap::new();
        for _ in 0..200_000 {
            let k = rng.next() % 1_000_000;
            map.insert(k, k.to_string());
        }
        let mut scanned = 0u64;
        for i in 0..2_000u64 {
            let lo = (i * 499) % 1_000_000;
            scanned += map.range(lo..lo + 500).map(|(_, v)| v.len() as u64).sum::<u64>();
        }
        let doomed: Vec<u64> = map.keys().copied().filter(|k| k % 3 == 0).collect();
        for k in doomed {
            map.remove(&k);
        }
        mix(sum, scanned + map.len() as u64);
    }
}

fn threads_phase(sum: &mut u64) {
    // Two threads; each sends its batches of strings to the other, which frees them.
    let (to_b, from_a) = mpsc::sync_channel::<Vec<String>>(8);
    let (to_a, from_b) = mpsc::sync_channel::<Vec<String>>(8);
    let worker = |id: u64, tx: mpsc::SyncSender<Vec<String>>, rx: mpsc::Receiver<Vec<String>>| {
        move || {
            let mut rng = Rng(0x1234_5678 + id);
            let mut bytes = 0u64;
            for _ in 0..400 {
                let batch: Vec<String> = (0..500).map(|_| format!("{:x}", rng.next())).collect();
                tx.send(batch).unwrap();
                let theirs = rx.recv().unwrap();
                bytes += theirs.iter().map(|s| s.len() as u64).sum::<u64>();
            }
            bytes
        }
    };
    let a = thread::spawn(worker(1, to_b, from_b));
    let b = thread::spawn(worker(2, to_a, from_a));
    mix(sum, a.join().unwrap() + b.join().unwrap());
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

// CPU time of the process (every thread, also those that exited), in milliseconds.
fn cpu_ms() -> f64 {
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec (x86-64/aarch64 Linux layout: two 64-bit fields).
    unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn run() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut sum = 0u64;
    let (start, start_cpu) = (Instant::now(), cpu_ms());
    let mut timed = |name: &str, f: &mut dyn FnMut(&mut Rng, &mut u64)| {
        let (t, c) = (Instant::now(), cpu_ms());
        f(&mut rng, &mut sum);
        println!("{} {:.3} {:.3}", name, t.elapsed().as_secs_f64() * 1e3, cpu_ms() - c);
    };
    timed("vec", &mut vec_phase);
    timed("string", &mut string_phase);
    timed("hashmap", &mut hashmap_phase);
    timed("btreemap", &mut btreemap_phase);
    timed("threads", &mut |_, s| threads_phase(s));
    println!("total {:.3} {:.3}", start.elapsed().as_secs_f64() * 1e3, cpu_ms() - start_cpu);
    println!("peak_rss_kib {}", peak_rss_kib());
    println!("checksum {}", sum);
}
