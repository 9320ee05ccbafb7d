// tests/program with Heapkit as the global allocator: the output is
// unchanged (the same expected.txt as under System), and heapkit served the
// program's allocations.
#[path = "program/mod.rs"]
mod program;

#[global_allocator]
static GLOBAL: heapkit::Heapkit = heapkit::Heapkit;

#[test]
fn output_is_unchanged_on_heapkit() {
    let before = heapkit::stats();
    let got = program::run();
    let after = heapkit::stats();
    assert_eq!(got, include_str!("program/expected.txt"));
    // The 1.2 MB text alone lives in heapkit's memory (allocations are counted per page, see Stats).
    assert!(after.allocations > before.allocations, "{:?} then {:?}", before, after);
    assert!(after.mapped_peak >= 1 << 20, "{:?}", after);
}
