#!/usr/bin/env bash
# redis-server on heapkit malloc (Debian's is built with libc malloc, so the
# preload serves it), answering redis-benchmark and redis-cli on 127.0.0.1.
source "$(dirname "$0")/common.sh"
need redis-server redis-benchmark redis-cli python3
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cd "$HK_WORK"
# env execs redis-server, so $! is its pid (a function run with & would be a subshell)
preload_env=(LD_PRELOAD="$HK_LIB")
[[ ${HK_MODE:-} == profile ]] && preload_env+=(HEAPKIT_PROFILE_OUTPUT="$HK_WORK/traces/t.hkt")
env "${preload_env[@]}" HEAPKIT_STATS=1 redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
  --daemonize no --dir "$HK_WORK" --logfile "$HK_WORK/redis.log" 2>"$HK_WORK/redis.err" &
pid=$!
hk_cleanup_hooks+=("kill $pid 2>/dev/null; wait $pid 2>/dev/null")
for _ in $(seq 1 100); do
  [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$HK_WORK/redis.log" "$HK_WORK/redis.err" >&2; fail "redis-server died"; }
  sleep 0.1
done
expect "redis answers" "$(redis-cli -h 127.0.0.1 -p "$port" ping)" PONG
lib_name=$(basename "$HK_LIB")
grep -qF "$lib_name" "/proc/$pid/maps" || fail "redis-server does not map $lib_name"
echo "ok: redis-server (pid $pid) maps $lib_name"

cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }
expect "SET" "$(cli set greeting hello-heapkit)" OK
expect "GET" "$(cli get greeting)" hello-heapkit
big=$(head -c 1000000 /dev/zero | tr '\0' 'z')
expect "SET 1 MB" "$(printf '%s' "$big" | cli -x set big)" OK
expect "STRLEN 1 MB" "$(cli strlen big)" 1000000
expect "GET 1 MB" "$(cli get big | md5sum)" "$(echo "$big" | md5sum)"

out=$(redis-benchmark -h 127.0.0.1 -p "$port" -q -n 20000 -c 20 -d 200 -t set,get,incr,lpush,lpop,sadd,hset,mset,lrange_100 2>&1)
echo "$out" | tr '\r' '\n' | grep 'requests per second' | sed 's/^ *//'
for t in SET GET INCR LPUSH LPOP SADD HSET "MSET (10 keys)" "LRANGE_100 (first 100 elements)"; do
  grep -q "^$t: .*requests per second" <<<"$(tr '\r' '\n' <<<"$out")" || fail "redis-benchmark: no result for $t: $out"
done
grep -qi "error" <<<"$out" && fail "redis-benchmark reported an error: $out"
expect "keys after the benchmark" "$(cli dbsize | grep -E '^[0-9]+$' | awk '$1 > 2 {print "many"}')" many
expect "GET after the benchmark" "$(cli get greeting)" hello-heapkit
cli shutdown nosave >/dev/null 2>&1 || true
wait "$pid" || true
hk_cleanup_hooks=()
if [[ ${HK_MODE:-} != profile ]]; then
  grep -q "heapkit: malloc statistics" "$HK_WORK/redis.err" || fail "no heapkit statistics at redis exit"
  echo "ok: redis-server exited, heapkit's statistics printed"
fi
