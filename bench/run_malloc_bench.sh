#!/usr/bin/env bash
# heapkit malloc's benchmark suite in one command: installs the peer
# allocators and programs from Debian when they are missing, builds the
# release programs, and runs every workload under glibc, jemalloc, mimalloc,
# tcmalloc, scudo and heapkit, alternating round-robin (bench/malloc_bench.py).
#
#   bench/run_malloc_bench.sh [--rounds N] [--only WORKLOAD[,W2]] [--allocators a,b,...]
#                             [--quick] [--json FILE] [--svg FILE] [--no-fastpath]
#
#   BUILD_DIR (default build/release) is configured with HEAPKIT_BUILD_BENCH=ON if needed.
set -euo pipefail
for arg in "$@"; do
    case $arg in -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
case $build in /*) ;; *) build=$root/$build ;; esac

# ---- peers and programs from Debian (only what is missing) ----
scudo_so=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.scudo_standalone-x86_64.so
need=()
[ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || need+=(libjemalloc2)
[ -e /usr/lib/x86_64-linux-gnu/libmimalloc.so.2 ] || need+=(libmimalloc2.0)
[ -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ] || need+=(libtcmalloc-minimal4)
[ -e "$scudo_so" ] || need+=(libclang-rt-14-dev)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v sqlite3 >/dev/null || need+=(sqlite3)
[ -x /usr/bin/python3 ] || need+=(python3)
[ -x /usr/bin/time ] || need+=(time)
dpkg -s libbenchmark-dev >/dev/null 2>&1 || need+=(libbenchmark-dev)
command -v ninja >/dev/null || need+=(ninja-build)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

# ---- build ----
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHEAPKIT_BUILD_BENCH=ON >/dev/null
elif ! grep -q '^HEAPKIT_BUILD_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
    cmake -DHEAPKIT_BUILD_BENCH=ON "$build" >/dev/null
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt"; then
    echo "warning: $build is not a Release build; the figures will not mean much" >&2
fi
cmake --build "$build" --target malloc_bench_programs >/dev/null

exec /usr/bin/python3 "$root/bench/malloc_bench.py" --bin "$build/bin" --libheapkit "$build/lib/libheapkit.so" \
    --shim "$build/lib/libhk_glibc_shim.so" "$@"
