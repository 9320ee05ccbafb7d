#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs the
# tests under ASan+UBSan (debug), the concurrent tests under TSan, and the
# release build (examples, the installed-package check, programs that
# replace malloc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
for preset in debug tsan release fuzz; do
  echo "=== heapkit: ${preset} ==="
  cmake --workflow --preset "${preset}"
done
