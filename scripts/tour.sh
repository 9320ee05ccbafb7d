#!/usr/bin/env bash
# The main job: installs what is missing, builds the heapkit command (with
# the example programs and the preload libraries it runs, nothing else),
# runs `heapkit tour`, the post's experiments measured on this machine, then
# records one shipped program with `heapkit profile` and reports it: in the
# terminal and as an HTML page, whose path it prints at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release --target heapkit_cli
build/release/bin/heapkit tour "$@"

out=build/release/tour
mkdir -p "$out"
rm -f "$out"/word_index.hkt "$out"/word_index.hkt.*
echo
echo "=== heapkit profile: every allocation of examples/word_index.cpp, with its stack ==="
build/release/bin/heapkit profile -o "$out/word_index.hkt" -- build/release/bin/example_word_index
echo
build/release/bin/heapkit report "$out/word_index.hkt" --top 5 --frames 12 --html "$out/word_index.html"
echo
echo "The report as a page (flame graph, memory over time): $(pwd)/$out/word_index.html"
echo "Open it in a browser; it needs no network."
