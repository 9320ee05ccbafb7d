#!/usr/bin/env bash
# The HTML report in a real browser (ctest -L browser).
#   run.sh WRITE_REPORT_PAGE SOURCE_DIR OUT_DIR [HEAPKIT PROGRAM]
# Writes the page of each data document with WRITE_REPORT_PAGE (write_html_report) into OUT_DIR
# and checks it with report_page.mjs in Debian's chromium, headless and offline:
#   - tests/trace/data/html_fixture.json: every check (made by make_fixture.mjs; committed);
#   - tests/browser/empty_report.json: a program that allocated nothing;
#   - a 50,000-node document made here by make_fixture.mjs: the page copes with a large tree;
#   - tests/trace/data/report_fixture.json, when present: a document written by heapkit report;
#   - with HEAPKIT and PROGRAM: PROGRAM recorded by `heapkit profile` and its page written by
#     `heapkit report --html`, the command end to end (left out, with a note, when either is missing).
# Screenshots: OUT_DIR/*.png. Exits 77 (skipped) when chromium, node or node_modules are missing.
set -euo pipefail
writer=$1 source_dir=$2 out_dir=$3 heapkit=${4:-} program=${5:-}
here=$source_dir/tests/browser
chromium=${HEAPKIT_CHROMIUM:-/usr/bin/chromium}

if [[ ! -x $chromium ]]; then echo "skipped: no chromium at $chromium (apt-get install chromium)"; exit 77; fi
if ! command -v node >/dev/null; then echo "skipped: node is not installed (apt-get install nodejs npm)"; exit 77; fi
if [[ ! -d $here/node_modules/playwright-core ]]; then
  echo "skipped: $here/node_modules is missing: run scripts/bootstrap.sh (it runs npm ci there)"
  exit 77
fi

mkdir -p "$out_dir"
rm -f "$out_dir"/*.png "$out_dir"/*.html
status=0
check() {  # check NAME DATA.json MODE
  local name=$1 data=$2 mode=$3
  echo "=== $name: $data"
  "$writer" "$data" "$out_dir/$name.html"
  node "$here/report_page.mjs" "$out_dir/$name.html" "$data" "$mode" "$out_dir" "$chromium" || status=1
}
check html_report "$source_dir/tests/trace/data/html_fixture.json" full
check html_report_empty "$here/empty_report.json" empty
node "$here/make_fixture.mjs" "$out_dir/large_fixture.json" --nodes 50000 --frames 600 --seed 11
check html_report_large "$out_dir/large_fixture.json" large
if [[ -f $source_dir/tests/trace/data/report_fixture.json ]]; then
  check html_report_real "$source_dir/tests/trace/data/report_fixture.json" generic
fi
if [[ -n $heapkit && -x $heapkit && -n $program && -x $program ]]; then
  echo "=== html_report_profiled: heapkit profile $program; heapkit report --html"
  rm -f "$out_dir"/profiled.hkt*
  "$heapkit" profile -o "$out_dir/profiled.hkt" -- "$program" >/dev/null
  "$heapkit" report "$out_dir/profiled.hkt" --json "$out_dir/profiled.json" --html "$out_dir/html_report_profiled.html" >/dev/null
  node "$here/report_page.mjs" "$out_dir/html_report_profiled.html" "$out_dir/profiled.json" generic "$out_dir" "$chromium" || status=1
else
  echo "note: heapkit report --html end to end left out: no heapkit command or program to profile ('$heapkit', '$program')"
fi
echo "screenshots: $(ls "$out_dir"/*.png | tr '\n' ' ')"
exit $status
