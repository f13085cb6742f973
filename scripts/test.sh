#!/usr/bin/env bash
# Runs cashgate's whole test suite: both storage engines and the browser tests.
#
#   scripts/test.sh [go test flags…]      (default: ./... )
#
# PostgreSQL: uses CASHGATE_TEST_POSTGRES_URL when set; else the server on
# 127.0.0.1:5432 when one answers; else starts a throwaway server from the
# installed PostgreSQL binaries in a temporary directory (removed on exit;
# CASHGATE_TEST_THROWAWAY_PG=1 forces this even when :5432 answers).
# Redis: uses CASHGATE_TEST_REDIS_URL when set; else the server on
# 127.0.0.1:6379 when one answers PING; else starts a throwaway
# redis-server (no persistence) on a free port, installing Debian's
# redis-server package when it is missing (CASHGATE_TEST_THROWAWAY_REDIS=1
# forces this even when :6379 answers).
# Chromium: installs Debian's chromium package when it is missing.
# All of them are then required: a test that cannot reach them fails.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }
cleanup_cmds=()
cleanup() { for c in "${cleanup_cmds[@]}"; do eval "$c" || true; done; }
trap cleanup EXIT

apt_install() { # package
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "$1" >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "$1" >/dev/null; }
}

pg_answers() { # host port
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$1" -p "$2" -t 3
  else
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
  fi
}

find_pg_bin() {
  local d
  for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

start_throwaway_pg() {
  local bin dir port runas=()
  bin=$(find_pg_bin) || { log "no PostgreSQL binaries found (install postgresql)"; return 1; }
  dir=$(mktemp -d /tmp/cashgate-pg.XXXXXX)
  port=$(( 20000 + RANDOM % 20000 ))
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$dir"
    runas=(runuser -u "$user" --)
  fi
  log "starting a throwaway PostgreSQL on 127.0.0.1:$port in $dir"
  "${runas[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
  "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" >/dev/null
  cleanup_cmds+=("'${runas[*]:-env}' '$bin/pg_ctl' -D '$dir/data' -m immediate stop >/dev/null 2>&1; rm -rf '$dir'")
  export CASHGATE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

if [ -z "${CASHGATE_TEST_POSTGRES_URL:-}" ]; then
  # CASHGATE_TEST_THROWAWAY_PG=1 skips the server on :5432 (to test this path).
  if [ "${CASHGATE_TEST_THROWAWAY_PG:-}" != 1 ] && pg_answers 127.0.0.1 5432; then
    db=postgres
    if command -v psql >/dev/null 2>&1 && psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; then db=test; fi
    export CASHGATE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
    log "using PostgreSQL on 127.0.0.1:5432 (database $db)"
  else
    start_throwaway_pg
  fi
fi
export CASHGATE_TEST_REQUIRE_POSTGRES=1

redis_answers() { # host port
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$1" -p "$2" ping 2>/dev/null)" = PONG ]
  else
    (exec 3<>"/dev/tcp/$1/$2" && printf 'PING\r\n' >&3 && timeout 3 head -c 5 <&3 | grep -q PONG) 2>/dev/null
  fi
}

start_throwaway_redis() {
  local dir port i
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing Debian's redis-server for the Redis tests"
    apt_install redis-server
  fi
  dir=$(mktemp -d /tmp/cashgate-redis.XXXXXX)
  port=$(( 20000 + RANDOM % 20000 ))
  log "starting a throwaway Redis on 127.0.0.1:$port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/log" >/dev/null
  cleanup_cmds+=("kill \$(cat '$dir/redis.pid') 2>/dev/null; rm -rf '$dir'")
  for i in $(seq 50); do
    redis_answers 127.0.0.1 "$port" && break
    sleep 0.1
  done
  redis_answers 127.0.0.1 "$port" || { log "the throwaway Redis did not answer: $(tail -5 "$dir/log")"; return 1; }
  export CASHGATE_TEST_REDIS_URL="redis://127.0.0.1:$port"
}

if [ -z "${CASHGATE_TEST_REDIS_URL:-}" ]; then
  if [ "${CASHGATE_TEST_THROWAWAY_REDIS:-}" != 1 ] && redis_answers 127.0.0.1 6379; then
    export CASHGATE_TEST_REDIS_URL="redis://127.0.0.1:6379"
    log "using Redis on 127.0.0.1:6379"
  else
    start_throwaway_redis
  fi
fi
export CASHGATE_TEST_REQUIRE_REDIS=1

if [ -z "${CASHGATE_TEST_CHROMIUM:-}" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Debian's chromium for the browser tests"
    apt_install chromium
  fi
  export CASHGATE_TEST_CHROMIUM=$(command -v chromium)
fi
export CASHGATE_TEST_REQUIRE_BROWSER=1

if [ $# -eq 0 ]; then set -- ./...; fi
log "go test -count=1 -timeout 15m $*"
go test -count=1 -timeout 15m "$@"
