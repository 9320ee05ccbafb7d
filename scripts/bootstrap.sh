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
# The browser test of the HTML report drives chromium with npm's playwright-core: Debian's node and
# npm only when the machine has none (a Node.js from elsewhere ships its own npm, which Debian's
# npm package conflicts with).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "heapkit: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser test's node packages (tests/browser/package-lock.json): playwright-core only, which
# drives the chromium installed above and never downloads a browser of its own.
browser_tests=$(cd "$(dirname "$0")/../tests/browser" && pwd)
if [[ ! -d $browser_tests/node_modules/playwright-core ]]; then
  echo "heapkit: installing the browser test's node packages in $browser_tests" >&2
  (cd "$browser_tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
