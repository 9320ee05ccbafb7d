//! The collections benchmark (examples/shared/collections_workload.rs) with
//! Heapkit as the global allocator. bench/run_rust_bench.sh runs it
//! alternately with bench_system.
#[path = "shared/collections_workload.rs"]
mod workload;

#[global_allocator]
static GLOBAL: heapkit::Heapkit = heapkit::Heapkit;

fn main() {
    workload::run();
}
