#!/usr/bin/env bash
# bench/recsys/threads.sh -- training time by number of training threads.
#
# Usage (as root):  bash bench/recsys/threads.sh [N] [ROUNDS] [THREADS ...]
#   (defaults: N = 1000000 interactions, 3 rounds, threads 1 2)
# Generates the synthetic shop of bench/lib.sh at N interactions, then, ROUNDS times, trains
# mtrs_train('threads', 'events') with default options once per thread count (in turn, so a
# busy moment of the shared machine hits every count alike), each run in a fresh backend
# with SET mtrs.training_threads. Records the wall time of each run and the md5 of its model
# bytes (the same for every thread count, or the script fails), then prints the median
# time per thread count and its ratio to the first count.
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/threads/{runs.txt,results.txt}
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000000}
ROUNDS=${2:-3}
shift $(($# > 2 ? 2 : $#))
THREADS=${*:-1 2}
OUT=$ROOT/bench/out/threads
DB=mtrs_bench_threads
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"
PSQL -q -d $DB -c "CREATE EXTENSION mtrs"
synthetic_shop_sql "$N" | PSQL -q -d $DB > /dev/null
echo "$(PSQL -d $DB -Atc 'SELECT count(*) FROM events') rows, $(nproc) cores" | tee "$OUT/results.txt"

: > "$OUT/runs.txt"
for r in $(seq 1 "$ROUNDS"); do
  for t in $THREADS; do
    PSQL -q -d $DB -At <<SQL >> "$OUT/runs.txt"
SET client_min_messages = warning;
SELECT mtrs_drop_model('threads') WHERE EXISTS (SELECT 1 FROM mtrs_model WHERE name = 'threads') \g /dev/null
SET mtrs.training_threads = $t;
SELECT clock_timestamp() AS t0 \gset
SELECT mtrs_train('threads', 'events') IS NOT NULL AS trained \gset
SELECT $r, $t, round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2), md5(weights)
  FROM mtrs_model WHERE name = 'threads' AND active;
SQL
    tail -1 "$OUT/runs.txt"
  done
done

if [ "$(cut -d'|' -f4 "$OUT/runs.txt" | sort -u | wc -l)" -ne 1 ]; then
  echo "the thread counts gave different models" >&2
  exit 1
fi
echo "every run: the same model bytes ($(head -1 "$OUT/runs.txt" | cut -d'|' -f4))" | tee -a "$OUT/results.txt"
FIRST=${THREADS%% *}
median() { cut -d'|' -f2,3 "$OUT/runs.txt" | awk -F'|' -v t="$1" '$1 == t {print $2}' | sort -n |
           awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
BASE=$(median "$FIRST")
for t in $THREADS; do
  M=$(median "$t")
  awk -v t="$t" -v m="$M" -v b="$BASE" -v f="$FIRST" -v r="$ROUNDS" \
    'BEGIN {printf "threads %2d: median %.2f s over %d runs, %.2fx the time of %d thread(s)\n", t, m, r, m / b, f}' |
    tee -a "$OUT/results.txt"
done
