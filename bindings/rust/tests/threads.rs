// Threads allocating and freeing each other's memory on Heapkit (this
// binary's global allocator): producers send boxes, vectors and strings to
// consumers that check and drop them (every free is a remote free into the
// producer's heap), producers exit while their blocks are still alive
// elsewhere (their heaps are abandoned and adopted), and blocks are grown
// by realloc on a thread other than the one that allocated them.
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;

use heapkit::Heapkit;

#[global_allocator]
static GLOBAL: Heapkit = Heapkit;

enum Item {
    Boxed(Box<[u64; 8]>, u64),
    Bytes(Vec<u8>, u8),
    Text(String, usize),
}

fn make(producer: usize, i: usize) -> Item {
    let tag = (producer * 1_000_003 + i) as u64;
    match i % 3 {
        0 => Item::Boxed(Box::new([tag; 8]), tag),
        1 => {
            let n = 1 + (i * 37) % 5000;
            Item::Bytes(vec![(tag % 251) as u8; n], (tag % 251) as u8)
        }
        _ => {
            let s = format!("producer {} item {}", producer, i).repeat(1 + i % 7);
            let n = s.len();
            Item::Text(s, n)
        }
    }
}

fn check_and_drop(item: Item) {
    match item {
        Item::Boxed(b, tag) => assert!(b.iter().all(|&x| x == tag)),
        Item::Bytes(v, byte) => assert!(v.iter().all(|&x| x == byte)),
        Item::Text(s, n) => {
            assert_eq!(s.len(), n);
            assert!(s.starts_with("producer "));
        }
    }
}

#[test]
fn consumers_free_what_producers_allocate() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 3;
    const ITEMS: usize = 20_000;
    let mut senders = Vec::new();
    let mut consumers = Vec::new();
    for _ in 0..CONSUMERS {
        let (tx, rx) = mpsc::channel::<Item>();
        senders.push(tx);
        consumers.push(thread::spawn(move || {
            let mut n = 0usize;
            for item in rx {
                check_and_drop(item);
                n += 1;
            }
            n
        }));
    }
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let senders = senders.clone();
            thread::spawn(move || {
                for i in 0..ITEMS {
                    senders[(p + i) % CONSUMERS].send(make(p, i)).unwrap();
                }
            })
        })
        .collect();
    drop(senders);
    for p in producers {
        p.join().unwrap();
    }
    let consumed: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(consumed, PRODUCERS * ITEMS);
}

#[test]
fn blocks_outlive_the_threads_that_allocated_them() {
    // Each round: threads allocate and exit; the main thread checks, grows and frees their blocks.
    for round in 0..5 {
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let barrier = barrier.clone();
                thread::spawn(move || {
                    barrier.wait(); // all four allocate at once
                    (0..2000).map(|i| vec![(t * 7 + i + round) as u32; 1 + i % 300]).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<Vec<Vec<u32>>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for (t, vectors) in all.iter_mut().enumerate() {
            for (i, v) in vectors.iter_mut().enumerate() {
                let value = (t * 7 + i + round) as u32;
                assert!(v.iter().all(|&x| x == value));
                let n = v.len();
                v.extend(std::iter::repeat(value).take(n * 3)); // realloc on another thread
                assert_eq!(v.len(), n * 4);
                assert!(v.iter().all(|&x| x == value));
            }
        }
    }
}

#[test]
fn threads_swap_blocks_in_a_ring() {
    // Every thread frees what its neighbour allocated, in many small rounds, while allocating.
    const THREADS: usize = 4;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS).map(|_| mpsc::sync_channel::<Vec<String>>(4)).unzip();
    let mut rxs: Vec<Option<mpsc::Receiver<Vec<String>>>> = rxs.into_iter().map(Some).collect();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let tx = txs[(t + 1) % THREADS].clone();
            let rx = rxs[t].take().unwrap();
            thread::spawn(move || {
                let mut freed = 0usize;
                for round in 0..200 {
                    let batch: Vec<String> = (0..50).map(|i| format!("{}:{}:{}", t, round, i)).collect();
                    tx.send(batch).unwrap();
                    let theirs = rx.recv().unwrap();
                    let from = (t + THREADS - 1) % THREADS;
                    assert_eq!(theirs[0], format!("{}:{}:0", from, round));
                    freed += theirs.len();
                }
                freed
            })
        })
        .collect();
    drop(txs);
    let freed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(freed, THREADS * 200 * 50);
}
