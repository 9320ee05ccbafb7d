#!/usr/bin/env bash
# Installs the Debian packages heapkit needs to build, test and benchmark,
# when any is missing. Safe to run again; runs apt-get only when needed.
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
          clang libclang-rt-14-dev python3
          # real programs run on libheapkit.so by the `realworld` tests
          libpython3.11-testsuite git sqlite3 redis-server redis-tools
          # the profiler (src/trace): unwinding, symbols, compression; its report checked by go tool pprof and chromium
          libunwind-dev libdw-dev libelf-dev libzstd-dev zlib1g-dev golang-go chromium
          # the Rust crate (bindings/rust): Debian's toolchain, Rust 1.63, used when no rustup one is on PATH
          cargo rustc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "heapkit: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
