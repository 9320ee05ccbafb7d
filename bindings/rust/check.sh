#!/usr/bin/env bash
# The heapkit crate's checks, run by scripts/test.sh: `cargo test --offline`
# with heapkit malloc built from this tree by build.rs (CMake), then the two
# other ways build.rs finds heapkit, against BUILD_DIR installed into a fresh
# prefix: HEAPKIT_DIR=<prefix>, and pkg-config (PKG_CONFIG_PATH). Each of
# those builds and runs examples/vec_box and checks its last line.
#
#   bindings/rust/check.sh [BUILD_DIR]     (default build/release: a Release build without sanitizers)
set -euo pipefail
crate=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$crate/../.." && pwd)
build=${1:-$root/build/release}
command -v cargo >/dev/null || { echo "check.sh: cargo not found; run scripts/bootstrap.sh" >&2; exit 1; }
echo "heapkit crate: $(cargo --version), $(rustc --version)"

# 1. From source (HEAPKIT_FROM_SOURCE: an installed heapkit must not stand in for this tree).
HEAPKIT_FROM_SOURCE=1 cargo test --offline --manifest-path "$crate/Cargo.toml"

# 2 and 3. From an installed prefix, found through HEAPKIT_DIR and through pkg-config.
if [[ ! -f "$build/src/malloc/libheapkit_malloc.a" ]]; then
  echo "check.sh: $build has no libheapkit_malloc.a; build the release preset first (skipping the installed checks)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
check_vec_box() {  # $1: how heapkit is found; the environment says where
  local out
  out=$(cargo run --offline --release --manifest-path "$crate/Cargo.toml" --target-dir "$work/target" \
        --example vec_box 2>"$work/stderr") || { cat "$work/stderr" >&2; exit 1; }
  grep -q "heapkit: linking heapkit malloc from $work/prefix" "$work/stderr" ||
    { echo "check.sh ($1): build.rs did not use the installed heapkit:" >&2; cat "$work/stderr" >&2; exit 1; }
  [[ $(tail -n 1 <<<"$out") == "heapkit::purge()"* ]] || { echo "check.sh ($1): unexpected output:" >&2; echo "$out" >&2; exit 1; }
  echo "heapkit crate built against the installed heapkit ($1): vec_box ran"
}
HEAPKIT_DIR="$work/prefix" check_vec_box HEAPKIT_DIR
touch "$crate/build.rs"  # the same target dir: make build.rs look again
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig" check_vec_box pkg-config
