#!/usr/bin/env bash
# The heapkit crate's benchmark (bindings/rust): builds the release
# binaries bench_system and bench_heapkit (the same Vec/String/HashMap/
# BTreeMap workload under System and under heapkit::Heapkit) and runs them
# alternately, printing the median per phase and the ratio to System
# (bench/rust_bench.py). With libheapkit.so built (build/release/lib), the
# System binary also runs under LD_PRELOAD=libheapkit.so, for scale.
#
#   bench/run_rust_bench.sh [--rounds N] [--no-preload]
#
#   HEAPKIT_DIR, if set, is where the crate finds heapkit (bindings/rust/README.md);
#   else it builds heapkit malloc from this tree with CMake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=7
preload=1
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --no-preload) preload=0; shift ;;
        -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run_rust_bench.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
command -v cargo >/dev/null || { echo "run_rust_bench.sh: cargo not found; run scripts/bootstrap.sh (Debian's cargo and rustc)" >&2; exit 1; }

crate=$root/bindings/rust
cargo build --offline --release --quiet --manifest-path "$crate/Cargo.toml" --example bench_system --example bench_heapkit
target=${CARGO_TARGET_DIR:-$crate/target}
args=(--system "$target/release/examples/bench_system" --heapkit "$target/release/examples/bench_heapkit" --rounds "$rounds")
so=${BUILD_DIR:-$root/build/release}/lib/libheapkit.so
if [ "$preload" = 1 ] && [ -f "$so" ]; then args+=(--libheapkit "$so"); fi
exec /usr/bin/python3 "$root/bench/rust_bench.py" "${args[@]}"
