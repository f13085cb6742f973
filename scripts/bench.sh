#!/usr/bin/env bash
# Measures the README's performance table with `cashgate bench` and prints
# it as markdown on stdout (progress and the runs' logs go to stderr).
#
#   scripts/bench.sh [--quick] [--runs N] [--duration D] [--preload N]
#                    [--no-postgres] [--write-readme]
#
# Scenarios transfers (1,000 accounts), moto, sends, remote and deposits (1,000 customers) at 8 and 64
# clients, then moto at 64 clients on 8 tenants beside its one-tenant row;
# each figure is the median by requests/s of --runs runs (default 3) of
# --duration (default 10s), every run on a fresh database with cashgate
# in-process. --preload N adds transfers at 8 and 64 clients on a database
# preloaded with N ledger entries (one run each: 10,000,000 take minutes).
# --quick: 1 run of 2s each, for a smoke test. --write-readme replaces the
# block between <!-- bench:start --> and <!-- bench:end --> in README.md.
#
# Engines: SQLite always. PostgreSQL with CASHGATE_BENCH_POSTGRES_URL (each
# run in a fresh schema of that database, dropped after it), else when
# 127.0.0.1:5432 answers (user postgres: a database cg_bench_<random>
# created for the script and dropped on exit), unless --no-postgres.
# Needs go, jq, and psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 duration=10s preload=0 write_readme=0 postgres=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=1 duration=2s ;;
    --runs) runs="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --preload) preload="$2"; shift ;;
    --no-postgres) postgres=0 ;;
    --write-readme) write_readme=1 ;;
    -h|--help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf 'bench.sh: %s\n' "$*" >&2; }
psql() { PGOPTIONS=--client-min-messages=warning command psql "$@"; } # no NOTICEs of DROP … CASCADE
command -v jq >/dev/null || { log "needs jq"; exit 1; }

tmp=$(mktemp -d)
cleanup_cmds=("rm -rf '$tmp'")
cleanup() { for c in "${cleanup_cmds[@]}"; do eval "$c" || true; done; }
trap cleanup EXIT

log "building cashgate"
go build -o "$tmp/cashgate" ./cmd/cashgate

# with_query URL PARAM=VALUE appends a query parameter to a URL.
with_query() { case "$1" in *\?*) echo "$1&$2" ;; *) echo "$1?$2" ;; esac; }

pg_base=""
if [ "$postgres" = 1 ]; then
  if [ -n "${CASHGATE_BENCH_POSTGRES_URL:-}" ]; then
    pg_base=$CASHGATE_BENCH_POSTGRES_URL
  elif pg_isready -q -h 127.0.0.1 -p 5432 -t 3 2>/dev/null; then
    db="cg_bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db" >&2
    cleanup_cmds+=("psql -q -h 127.0.0.1 -U postgres -d postgres -c 'DROP DATABASE $db' >&2")
    pg_base="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
  else
    log "no PostgreSQL (set CASHGATE_BENCH_POSTGRES_URL): SQLite only"
  fi
fi
engines=(sqlite)
[ -n "$pg_base" ] && engines+=(postgres)

# fresh_pg prints the URL of a new schema in pg_base and remembers to drop it.
fresh_pg() {
  local schema="cg_bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
  psql -q "$pg_base" -c "CREATE SCHEMA $schema" >&2
  echo "DROP SCHEMA $schema CASCADE" >"$tmp/drop"
  with_query "$pg_base" "search_path=$schema"
}

# bench ENGINE ARGS… runs one bench on a fresh database; its JSON line on stdout.
bench() {
  local engine=$1 rc=0; shift
  local db=()
  if [ "$engine" = postgres ]; then db=(--database-url "$(fresh_pg)"); fi
  "$tmp/cashgate" bench --log-level warn "${db[@]}" "$@" 2>>"$tmp/bench.log" || rc=$?
  if [ "$engine" = postgres ]; then psql -q "$pg_base" -f "$tmp/drop" >&2; fi
  if [ "$rc" != 0 ]; then log "FAILED: bench $* on $engine:"; tail -5 "$tmp/bench.log" >&2; fi
}

# measure KEY N ENGINE ARGS… runs bench N times and keeps the median run
# (by perSecond) in $tmp/KEY.json, "{}" when every run failed.
measure() {
  local key=$1 n=$2 engine=$3; shift 3
  log "$engine: bench $* ($n × $duration)"
  : >"$tmp/$key.runs"
  for _ in $(seq "$n"); do bench "$engine" --duration "$duration" "$@" >>"$tmp/$key.runs"; done
  jq -cs 'if length == 0 then {} else sort_by(.perSecond) | .[(length - 1) / 2 | floor] end' "$tmp/$key.runs" >"$tmp/$key.json"
}

thousands() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# cell KEY is one table cell: requests/s, p50, p99, peak RSS, CPU per op, failures,
# and for a preloaded run the preload time and list pages.
cell() {
  local f="$tmp/$1.json"
  if [ ! -s "$f" ] || [ "$(jq -r '.perSecond // empty' "$f")" = "" ]; then echo "failed"; return; fi
  local rate
  rate=$(thousands "$(jq -r '.perSecond | floor' "$f")")
  jq -r --arg rate "$rate" '[
      "**\($rate)/s**, p50 \(.p50ms * 10 | round / 10) ms, p99 \(.p99ms * 10 | round / 10) ms",
      (if .rssMB then "\(.rssMB | round) MB" else empty end),
      (if .machineCpuUsPerOp then "\(.machineCpuUsPerOp | round) µs CPU/op" else empty end),
      (if .failed > 0 then "\(.failed) failed (\(.firstError // "" | .[0:60] | gsub("[|\n]"; " ")))" else empty end),
      (if .listPageMs then "preload \(.preloadSeconds | round) s, statement page \(.listPageMs.statement) ms, account list \(.listPageMs.accounts) ms" else empty end)
    ] | join(", ")' "$f"
}

# The runs: name|clients|bench arguments.
rows=()
for sc in transfers moto sends remote deposits; do
  for c in 8 64; do
    args="--scenario $sc --clients $c"
    [ "$sc" = transfers ] && args+=" --accounts 1000"
    [ "$sc" = deposits ] && args+=" --accounts 1000"
    name=$sc; [ "$sc" = transfers ] && name="transfers (1,000 accounts)"
    [ "$sc" = deposits ] && name="cashier deposits (1,000 customers)"
    [ "$sc$c" = moto64 ] && moto64=${#rows[@]}
    rows+=("$name|$c|$args")
  done
done
tenants8=${#rows[@]}
rows+=("moto, 8 tenants|64|--scenario moto --clients 64 --tenants 8")

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for engine in "${engines[@]}"; do
  for i in "${!rows[@]}"; do
    IFS='|' read -r _ _ args <<<"${rows[$i]}"
    # shellcheck disable=SC2086 # args are words
    measure "$engine-$i" "$runs" "$engine" $args
  done
  if [ "$preload" -gt 0 ]; then
    for c in 8 64; do
      measure "$engine-preload-$c" 1 "$engine" --scenario transfers --accounts 1000 --clients "$c" --preload "$preload"
    done
  fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

pg_version=""
if [ -n "$pg_base" ]; then
  pg_version=$(psql -qAt "$pg_base" -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ' (fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ')'")
fi

table() {
  local header="| scenario | clients | SQLite |" sep="|---|---|---|"
  [ -n "$pg_base" ] && header+=" PostgreSQL |" && sep+="---|"
  local model
  model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "Measured $(date -u +%Y-%m-%d) by \`scripts/bench.sh\`$( [ "$runs" = 1 ] && echo " (quick: one run each)" ):"
  echo "$(nproc) CPUs ($model), $(go env GOVERSION), load generator on the same machine, load average"
  echo "$load_before before and $load_after after; SQLite with its WAL fsynced before every answer (committer at \`synchronous=NORMAL\`, the fsync beside it)${pg_version:+; $pg_version}."
  echo "Each figure is the median by requests/s of $runs run(s) of $duration on a fresh database,"
  echo "with p50/p99 latency, peak resident memory (server and load generator, one process) and the machine's"
  echo "CPU time per op (every process, PostgreSQL's included: machineCpuUsPerOp) of that run."
  echo
  echo "$header"
  echo "$sep"
  for i in "${!rows[@]}"; do
    IFS='|' read -r name c _ <<<"${rows[$i]}"
    [ "$i" = "$tenants8" ] && echo "| moto, 1 tenant | 64 | $(cell "sqlite-$moto64") |$( [ -n "$pg_base" ] && echo " $(cell "postgres-$moto64") |")"
    echo "| $name | $c | $(cell "sqlite-$i") |$( [ -n "$pg_base" ] && echo " $(cell "postgres-$i") |")"
  done
  if [ "$preload" -gt 0 ]; then
    for c in 8 64; do
      echo "| transfers (1,000 accounts), $(thousands "$preload") entries preloaded | $c | $(cell "sqlite-preload-$c") |$( [ -n "$pg_base" ] && echo " $(cell "postgres-preload-$c") |")"
    done
  fi
}

table >"$tmp/table.md"
cat "$tmp/table.md"

if [ "$write_readme" = 1 ]; then
  grep -q '<!-- bench:start -->' README.md && grep -q '<!-- bench:end -->' README.md || { log "README.md has no bench markers"; exit 1; }
  awk -v f="$tmp/table.md" '
    /<!-- bench:start -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip { print }' README.md >"$tmp/README.md"
  cp "$tmp/README.md" README.md
  log "README.md updated"
fi
