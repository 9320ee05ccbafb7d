#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs the
# tests under ASan+UBSan (debug), the concurrent tests under TSan, and the
# release build (examples, the installed-package check, programs that
# replace malloc), then the Rust crate (bindings/rust: cargo test, and
# builds against the release build installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
for preset in debug tsan release fuzz; do
  echo "=== heapkit: ${preset} ==="
  cmake --workflow --preset "${preset}"
done
echo "=== heapkit: rust (bindings/rust) ==="
bash bindings/rust/check.sh build/release
