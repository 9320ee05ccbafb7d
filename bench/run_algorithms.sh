#!/usr/bin/env bash
# Runs the algorithm benchmarks of docs/algorithms.md: bump, pool, tlsf/buddy
# with growing live populations, and the fragmentation workload (which
# rewrites docs/fragmentation.svg). Builds the release preset first.
#   bench/run_algorithms.sh [--repetitions N]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5
if [[ ${1:-} == --repetitions ]]; then reps=$2; fi
bash scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release --target bump_bench pool_bench tlsf_buddy_bench fragmentation >/dev/null
bin=build/release/bin
for b in bump_bench pool_bench tlsf_buddy_bench; do
  echo "=== $b"
  "$bin/$b" --benchmark_repetitions="$reps" --benchmark_min_time=0.2 --benchmark_format=console 2>/dev/null |
    sed -n '/median ns per iteration/,$p'
done
echo "=== fragmentation"
"$bin/fragmentation" --svg docs/fragmentation.svg
