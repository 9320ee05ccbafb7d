#!/usr/bin/env bash
# heapkit profile against heaptrack on sqlite3, python3 and g++, in one
# command: installs heaptrack and the programs from Debian when they are
# missing, builds the heapkit command and the recorder, and runs
# bench/profile_bench.py (alternating rounds, medians).
#
#   bench/run_profile_bench.sh [--rounds N] [--only sqlite,python,g++] [--quick] [--json FILE]
#
#   BUILD_DIR (default build/release) must be a Release build.
set -euo pipefail
for arg in "$@"; do
    case $arg in -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
case $build in /*) ;; *) build=$root/$build ;; esac

need=()
command -v heaptrack >/dev/null || need+=(heaptrack)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v g++ >/dev/null || need+=(g++)
[ -x /usr/bin/python3 ] || need+=(python3)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash "$root/scripts/bootstrap.sh"
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" ||
    echo "warning: $build is not a Release build; the figures will not mean much" >&2
cmake --build "$build" --target heapkit_cli heapkit_profile_shared >/dev/null
exec /usr/bin/python3 "$root/bench/profile_bench.py" --heapkit "$build/bin/heapkit" --root "$root" "$@"
