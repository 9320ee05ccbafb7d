//! The collections benchmark (examples/shared/collections_workload.rs) under
//! Rust's default allocator, System (glibc malloc). bench/run_rust_bench.sh
//! runs it alternately with bench_heapkit.
#[path = "shared/collections_workload.rs"]
mod workload;

fn main() {
    workload::run();
}
