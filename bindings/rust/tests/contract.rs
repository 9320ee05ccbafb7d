// The GlobalAlloc contract on Heapkit, called directly and as this test
// binary's global allocator: every alignment from 1 to 4096 at sizes from 1
// byte to past the largest class (huge blocks), the whole block writable,
// alloc_zeroed zero even where freed dirty memory is reused, realloc keeping
// the contents and the alignment as blocks grow and shrink across classes,
// and null (not a crash) for a request no machine can meet.
use std::alloc::{GlobalAlloc, Layout};

use heapkit::Heapkit;

#[global_allocator]
static GLOBAL: Heapkit = Heapkit;

const SIZES: [usize; 10] = [1, 7, 16, 100, 1000, 4095, 4096, 70_000, 600_000, 3 << 20];

fn alignments() -> impl Iterator<Item = usize> {
    (0..=12).map(|k| 1usize << k) // 1 ..= 4096
}

fn pattern(i: usize, seed: usize) -> u8 {
    (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8
}

unsafe fn fill(p: *mut u8, n: usize, seed: usize) {
    for i in 0..n {
        *p.add(i) = pattern(i, seed);
    }
}

unsafe fn check(p: *const u8, n: usize, seed: usize, what: &str) {
    for i in 0..n {
        let got = *p.add(i);
        assert_eq!(got, pattern(i, seed), "{}: byte {} of {} changed", what, i, n);
    }
}

#[test]
fn every_alignment_and_size_is_honoured() {
    for align in alignments() {
        for &size in SIZES.iter() {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let p = Heapkit.alloc(layout);
                assert!(!p.is_null(), "alloc({}, align {}) returned null", size, align);
                assert_eq!(p as usize % align, 0, "alloc({}, align {}) returned {:p}", size, align, p);
                fill(p, size, align);
                check(p, size, align, "alloc");
                Heapkit.dealloc(p, layout);
            }
        }
    }
}

#[test]
fn many_live_blocks_do_not_overlap() {
    let mut blocks: Vec<(*mut u8, Layout, usize)> = Vec::new();
    let mut seed = 0;
    for align in alignments() {
        for &size in SIZES[..8].iter() {
            let layout = Layout::from_size_align(size, align).unwrap();
            let p = unsafe { Heapkit.alloc(layout) };
            assert!(!p.is_null());
            unsafe { fill(p, size, seed) };
            blocks.push((p, layout, seed));
            seed += 1;
        }
    }
    for &(p, layout, seed) in blocks.iter() {
        unsafe {
            check(p, layout.size(), seed, "a live block");
            Heapkit.dealloc(p, layout);
        }
    }
}

#[test]
fn alloc_zeroed_is_zero_even_over_reused_memory() {
    for align in alignments() {
        for &size in SIZES.iter() {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                // Dirty blocks of this layout first, so alloc_zeroed may be handed them back.
                let dirty: Vec<*mut u8> = (0..4).map(|_| Heapkit.alloc(layout)).collect();
                for &d in dirty.iter() {
                    assert!(!d.is_null());
                    std::ptr::write_bytes(d, 0xA5, size);
                }
                for &d in dirty.iter() {
                    Heapkit.dealloc(d, layout);
                }
                for _ in 0..4 {
                    let z = Heapkit.alloc_zeroed(layout);
                    assert!(!z.is_null());
                    assert_eq!(z as usize % align, 0);
                    let bytes = std::slice::from_raw_parts(z, size);
                    if let Some(i) = bytes.iter().position(|&b| b != 0) {
                        panic!("alloc_zeroed({}, align {}): byte {} is {:#x}", size, align, i, bytes[i]);
                    }
                    Heapkit.dealloc(z, layout);
                }
            }
        }
    }
}

#[test]
fn realloc_keeps_contents_and_alignment() {
    // Grow one block through every size (small, medium, large classes, huge), then shrink it back.
    let mut steps: Vec<usize> = SIZES.to_vec();
    steps.extend(SIZES.iter().rev().skip(1));
    for align in alignments() {
        unsafe {
            let mut layout = Layout::from_size_align(steps[0], align).unwrap();
            let mut p = Heapkit.alloc(layout);
            assert!(!p.is_null());
            fill(p, layout.size(), align);
            for &new_size in steps[1..].iter() {
                let q = Heapkit.realloc(p, layout, new_size);
                assert!(!q.is_null(), "realloc({} -> {}, align {}) returned null", layout.size(), new_size, align);
                assert_eq!(q as usize % align, 0, "realloc to {} lost align {}", new_size, align);
                let kept = layout.size().min(new_size);
                check(q, kept, align, "realloc");
                fill(q, new_size, align);
                p = q;
                layout = Layout::from_size_align(new_size, align).unwrap();
            }
            Heapkit.dealloc(p, layout);
        }
    }
}

#[test]
fn an_impossible_request_is_null_not_a_crash() {
    // isize::MAX rounded down to the alignment is a valid Layout that no machine can back.
    for align in [1usize, 16, 4096] {
        let layout = Layout::from_size_align(isize::MAX as usize - (align - 1), align).unwrap();
        unsafe {
            assert!(Heapkit.alloc(layout).is_null(), "alloc of {} bytes, align {}", layout.size(), align);
            assert!(Heapkit.alloc_zeroed(layout).is_null());
            let small = Layout::from_size_align(64, align).unwrap();
            let p = Heapkit.alloc(small);
            fill(p, 64, 3);
            assert!(Heapkit.realloc(p, small, layout.size()).is_null());
            check(p, 64, 3, "a block whose realloc failed"); // still valid and intact
            Heapkit.dealloc(p, small);
        }
    }
}

#[test]
fn std_collections_run_on_it() {
    let mut v: Vec<String> = (0..10_000).map(|i| format!("item {}", i)).collect();
    v.sort();
    v.dedup();
    assert_eq!(v.len(), 10_000);
    let boxed: Box<[u64; 1024]> = Box::new([7; 1024]);
    assert_eq!(boxed.iter().sum::<u64>(), 7 * 1024);
    #[repr(align(4096))]
    struct Page([u8; 4096]);
    let pages: Vec<Page> = (0..8).map(|i| Page([i as u8; 4096])).collect();
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page as *const Page as usize % 4096, 0);
        assert!(page.0.iter().all(|&b| b == i as u8));
    }
}
