# Shared by the realworld tests: each runs a real program with
# LD_PRELOAD=libheapkit.so and checks its output. Sourced with the test's
# arguments: LIBRARY SOURCE_DIR BUILD_DIR. Exit 77 = skipped (ctest
# SKIP_RETURN_CODE): only when a program is genuinely unavailable;
# scripts/bootstrap.sh installs them all.
set -euo pipefail
HK_LIB=${1:?usage: $0 LIBHEAPKIT SOURCE_DIR BUILD_DIR}
HK_SRC=${2:-}
HK_BUILD=${3:-}
[[ -r $HK_LIB ]] || { echo "realworld: $HK_LIB not found" >&2; exit 1; }
HK_WORK=$(mktemp -d)
hk_cleanup_hooks=()
hk_cleanup() {
  local h
  for h in "${hk_cleanup_hooks[@]}"; do eval "$h" || true; done
  rm -rf "$HK_WORK"
}
trap hk_cleanup EXIT

# need CMD...: skip (77) when one is missing.
need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || { echo "realworld: SKIP: $c is not installed (scripts/bootstrap.sh installs it)"; exit 77; }
  done
}

# hk CMD ARGS...: runs CMD with heapkit preloaded.
hk() { LD_PRELOAD=$HK_LIB "$@"; }

fail() { echo "realworld: FAIL: $*" >&2; exit 1; }

# expect WHAT GOT WANT
expect() { [[ $2 == "$3" ]] || fail "$1: got '$2', expected '$3'"; echo "ok: $1 = $3"; }

# A program under the preload really runs on heapkit: it maps libheapkit.so
# and HEAPKIT_STATS prints heapkit's table at its exit.
check_active() {
  local out
  out=$(HEAPKIT_STATS=1 hk "$@" 2>&1 >/dev/null) || fail "$* failed under the preload"
  grep -q "heapkit: malloc statistics" <<<"$out" || fail "$*: no heapkit statistics at exit: $out"
  echo "ok: $1 runs on heapkit ($(grep 'allocations' <<<"$out" | tail -n 1 | tr -s ' ' | sed 's/heapkit: //'))"
}
