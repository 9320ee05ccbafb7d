#!/usr/bin/env bash
# sqlite3 on heapkit malloc: 200 000 rows inserted, indexed, queried,
# updated, deleted and vacuumed; every figure checked.
source "$(dirname "$0")/common.sh"
need sqlite3
db=$HK_WORK/t.db
check_active sqlite3 :memory: 'select 1'
out=$(hk sqlite3 -batch "$db" <<'SQL'
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, pad BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO t SELECT x, x % 97, printf('row-%06d', x), randomblob(x % 200) FROM c;
CREATE INDEX t_k ON t(k, name);
SELECT 'count', count(*) FROM t;
SELECT 'sum', sum(id) FROM t;
SELECT 'k=13', count(*), sum(id) FROM t WHERE k = 13;
SELECT 'groups', count(*) FROM (SELECT k FROM t GROUP BY k);
SELECT 'max name', max(name) FROM t;
SELECT 'pad bytes', sum(length(pad)) FROM t;
UPDATE t SET name = name || '-x' WHERE id % 2 = 0;
SELECT 'updated', count(*) FROM t WHERE name LIKE '%-x';
DELETE FROM t WHERE id > 150000;
SELECT 'after delete', count(*), sum(id) FROM t;
VACUUM;
PRAGMA integrity_check;
SQL
)
echo "$out"
expect "row count" "$(grep '^count|' <<<"$out")" "count|200000"
expect "sum of ids" "$(grep '^sum|' <<<"$out")" "sum|20000100000"
# ids 13, 110, ..., k = id % 97 = 13: 2062 rows, sum computed by the shell
n=0 s=0
for ((i = 13; i <= 200000; i += 97)); do n=$((n + 1)); s=$((s + i)); done
expect "k = 13 rows and sum" "$(grep '^k=13|' <<<"$out")" "k=13|$n|$s"
expect "distinct k" "$(grep '^groups|' <<<"$out")" "groups|97"
expect "max name" "$(grep '^max name|' <<<"$out")" "max name|row-200000"
# x % 200 over 1..200000: 1000 cycles of 0..199 (19900 bytes each); randomblob(0) is 1 byte
expect "pad bytes" "$(grep '^pad bytes|' <<<"$out")" "pad bytes|19901000"
expect "updated rows" "$(grep '^updated|' <<<"$out")" "updated|100000"
expect "after delete" "$(grep '^after delete|' <<<"$out")" "after delete|150000|11250075000"
expect "integrity" "$(tail -n 1 <<<"$out")" "ok"
