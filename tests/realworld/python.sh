#!/usr/bin/env bash
# python3 runs a slice of its own regression tests on heapkit malloc
# (PYTHONMALLOC=malloc: every object through malloc, not pymalloc's arenas).
source "$(dirname "$0")/common.sh"
need python3
python3 -c 'import test.libregrtest, test.test_dict' 2>/dev/null ||
  { echo "realworld: SKIP: python's test suite is missing (Debian: libpython3.11-testsuite)"; exit 77; }
export PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
check_active python3 -c 'print(1)'
lib_name=$(basename "$HK_LIB")
expect "python maps $lib_name" \
  "$(hk python3 -c "print('$lib_name' in open('/proc/self/maps').read())")" True
tests=(test_dict test_list test_set test_json test_re test_unicode test_collections test_sort test_bytes
       test_pickle test_decimal test_itertools test_functools test_array test_long test_struct test_gc
       test_weakref test_memoryview test_tuple)
cd "$HK_WORK"
set +e
out=$(hk python3 -m test -j2 --timeout 240 "${tests[@]}" 2>&1)
rc=$?
set -e
tail -n 8 <<<"$out"
((rc == 0)) || fail "python3 -m test exited $rc"
grep -q "^Tests result: SUCCESS" <<<"$out" || grep -q "== Tests result: SUCCESS ==" <<<"$out" || fail "no SUCCESS line"
expect "tests that passed" "$(grep -oE '^(All )?[0-9]+ tests? OK' <<<"$out" | grep -oE '[0-9]+')" "${#tests[@]}"
