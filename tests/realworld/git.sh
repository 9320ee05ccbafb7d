#!/usr/bin/env bash
# git on heapkit malloc: init, commit 2000 files over 20 commits, log, gc,
# fsck, and read the history back.
source "$(dirname "$0")/common.sh"
need git
export HOME=$HK_WORK GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=heapkit GIT_AUTHOR_EMAIL=hk@example.invalid \
       GIT_COMMITTER_NAME=heapkit GIT_COMMITTER_EMAIL=hk@example.invalid
repo=$HK_WORK/repo
check_active git --version
hk git init -q -b main "$repo"
cd "$repo"
for d in $(seq 0 19); do
  mkdir -p "dir$d"
  for f in $(seq 0 99); do printf 'file %d/%d\n%s\n' "$d" "$f" "$(seq -s ' ' 1 $((f % 50)))" >"dir$d/f$f.txt"; done
done
hk git add -A
hk git commit -q -m "2000 files"
for c in $(seq 1 19); do
  for d in $(seq 0 4); do echo "change $c" >>"dir$((c % 20))/f$d.txt"; done
  hk git commit -q -am "commit $c"
done
expect "files in HEAD" "$(hk git ls-files | wc -l)" 2000
expect "commits" "$(hk git log --oneline | wc -l)" 20
expect "last commit message" "$(hk git log -1 --format=%s)" "commit 19"
expect "files touched by the last commit" "$(hk git show --stat --format= HEAD | tail -n 1 | grep -oE '^ *[0-9]+ files?' | grep -oE '[0-9]+')" 5
hk git gc -q --aggressive
expect "packed objects fsck" "$(hk git fsck --full --strict 2>&1 | wc -l)" 0
expect "loose objects after gc" "$(hk git count-objects -v | awk '/^count:/ {print $2}')" 0
expect "a file read back from history" "$(hk git show HEAD~10:dir9/f3.txt | tail -n 1)" "change 9"
expect "blame lines" "$(hk git blame --line-porcelain dir19/f0.txt | grep -c '^author heapkit')" 3
expect "log -p lines mention change" "$(hk git log -p | grep -c '^+change')" 95
