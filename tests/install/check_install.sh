#!/usr/bin/env bash
# Installs heapkit from a build tree into a fresh prefix, then builds the
# program from the issue (examples/quickstart.cpp) against the installed
# package twice, once with find_package and once with pkg-config, and runs
# both; then a program linked with heapkit::malloc, and the installed
# `heapkit run` (which must preload the installed libheapkit.so). Usage: check_install.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
program="$src/examples/quickstart.cpp"

cmake -S "$src/tests/install" -B "$work/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DHEAPKIT_PROGRAM="$program" >/dev/null
cmake --build "$work/cmake" >/dev/null
out=$("$work/cmake/consumer")
echo "find_package build: $out"
[[ $out =~ ^new\ served\ [0-9]+\ bytes$ ]] || { echo "unexpected output: $out" >&2; exit 1; }

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig"
# shellcheck disable=SC2046
c++ -O1 "$program" $(pkg-config --cflags --libs heapkit) -o "$work/pc-consumer"
out=$("$work/pc-consumer")
echo "pkg-config build: $out"
[[ $out =~ ^new\ served\ [0-9]+\ bytes$ ]] || { echo "unexpected output: $out" >&2; exit 1; }
if [[ -x "$work/cmake/malloc_consumer" ]]; then
  out=$("$work/cmake/malloc_consumer")
  echo "heapkit::malloc build: $out"
  [[ $out == "malloc is heapkit" ]] || { echo "unexpected output: $out" >&2; exit 1; }
fi

# The installed `heapkit run` finds the installed libheapkit.so (not the build tree's).
if [[ -x "$work/prefix/bin/heapkit" ]]; then
  out=$(env -u LD_PRELOAD "$work/prefix/bin/heapkit" run -v --stats -- /bin/true 2>&1)
  echo "installed heapkit run: $(head -n 1 <<<"$out")"
  grep -q "^heapkit run: LD_PRELOAD=$work/prefix/.*/libheapkit.so$" <<<"$out" ||
    { echo "heapkit run did not preload the installed library: $out" >&2; exit 1; }
  grep -q "heapkit: malloc statistics" <<<"$out" || { echo "no heapkit statistics: $out" >&2; exit 1; }
fi
echo "installed package works"
