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
  local rc=$? h
  for h in "${hk_cleanup_hooks[@]}"; do eval "$h" || true; done
  if ((rc == 0)) && declare -F hk_verify_traces >/dev/null; then hk_verify_traces || rc=1; fi
  rm -rf "$HK_WORK"
  exit $rc
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

# HK_MODE=profile: the same scripts with the recorder (libheapkit-profile.so)
# as LIBRARY instead of heapkit malloc: every run writes a trace under
# $HK_WORK/traces, and at the end every trace must read back whole (complete,
# undamaged) with BUILD_DIR/bin/hk_trace_dump.
if [[ ${HK_MODE:-} == profile ]]; then
  mkdir -p "$HK_WORK/traces"
  hk() { LD_PRELOAD=$HK_LIB HEAPKIT_PROFILE_OUTPUT=$HK_WORK/traces/t.hkt "$@"; }
  hk_verify_traces() {
    local dump=$HK_BUILD/bin/hk_trace_dump t summary n=0 bad=0
    [[ -x $dump ]] || { echo "realworld: FAIL: $dump not built" >&2; return 1; }
    for t in "$HK_WORK"/traces/*; do
      [[ -e $t ]] || continue
      n=$((n + 1))
      summary=$("$dump" --summary "$t" | tail -n 1)
      grep -q "complete=1 error=none" <<<"$summary" || { echo "realworld: FAIL: trace $t: $summary" >&2; bad=1; }
    done
    ((n > 0)) || { echo "realworld: FAIL: no trace was written" >&2; bad=1; }
    ((bad == 0)) && echo "ok: $n traces read back complete"
    return $bad
  }
fi

fail() { echo "realworld: FAIL: $*" >&2; exit 1; }

# expect WHAT GOT WANT
expect() { [[ $2 == "$3" ]] || fail "$1: got '$2', expected '$3'"; echo "ok: $1 = $3"; }

# A program under the preload really runs on heapkit: it maps libheapkit.so
# and HEAPKIT_STATS prints heapkit's table at its exit.
check_active() {
  if [[ ${HK_MODE:-} == profile ]]; then
    local before after
    before=$(ls "$HK_WORK/traces" | wc -l)
    hk "$@" >/dev/null 2>&1 || fail "$* failed under the recorder"
    after=$(ls "$HK_WORK/traces" | wc -l)
    ((after > before)) || fail "$*: no trace written under the recorder"
    echo "ok: $1 runs under the recorder"
    return 0
  fi
  local out
  out=$(HEAPKIT_STATS=1 hk "$@" 2>&1 >/dev/null) || fail "$* failed under the preload"
  grep -q "heapkit: malloc statistics" <<<"$out" || fail "$*: no heapkit statistics at exit: $out"
  echo "ok: $1 runs on heapkit ($(grep 'allocations' <<<"$out" | tail -n 1 | tr -s ' ' | sed 's/heapkit: //'))"
}
