#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset and runs
# `heapkit tour`, the post's experiments measured on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release
exec build/release/bin/heapkit tour "$@"
