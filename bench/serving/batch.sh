#!/usr/bin/env bash
# bench/serving/batch.sh -- top-k for many users at once: mtrs_recommend_batch against one
# mtrs_recommend call per user.
#
# Usage (as root):  bash bench/serving/batch.sh [N] [USERS] [ROUNDS]
#   (defaults: N = 1000000 interactions, USERS = 0 = every user, 3 rounds)
# Generates the synthetic shop of bench/lib.sh at N interactions (N / 50 users,
# max(1000, N / 200) items), trains it with default options (mtrs.training_threads = 2 to
# save time; the model is the same), then, ROUNDS times and in turn, writes the top 10 of
# the first USERS users (by id) into a table:
#   per_user:  SELECT u.user_id, r.* FROM unnest(ids) u(user_id), mtrs_recommend(u.user_id, 10) r
#   batch:     SELECT * FROM mtrs_recommend_batch(ids, 10)
# with fold-in on (the source table has no fresh rows; both look that up). Checks that both
# give the same items and ranks for every user, and prints the median time of each and the
# ratio. One backend, one BLAS thread, warm model cache.
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/batch/{runs.txt,results.txt}
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000000}
USERS=${2:-0}
ROUNDS=${3:-3}
OUT=$ROOT/bench/out/batch
DB=mtrs_bench_batch
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"
PSQL -q -d $DB -c "CREATE EXTENSION mtrs"
synthetic_shop_sql "$N" | PSQL -q -d $DB > /dev/null
PSQL -q -d $DB -At <<SQL > /dev/null
SET client_min_messages = warning;
SET mtrs.training_threads = 2;
SELECT mtrs_train('shop', 'events');
CREATE TABLE ids AS
SELECT array_agg(user_id ORDER BY user_id) AS ids
  FROM (SELECT DISTINCT user_id FROM events ORDER BY user_id LIMIT NULLIF($USERS, 0)) u;
SQL
echo "$(PSQL -d $DB -Atc "SELECT cardinality(ids) FROM ids") users, \
$(PSQL -d $DB -Atc "SELECT n_items FROM mtrs_models WHERE name = 'shop' AND active") items, \
dim 64, top 10" | tee "$OUT/results.txt"

: > "$OUT/runs.txt"
for r in $(seq 1 "$ROUNDS"); do
  PSQL -q -d $DB -At <<SQL >> "$OUT/runs.txt"
SELECT count(*) FROM mtrs_recommend(1, 10) \g /dev/null
DROP TABLE IF EXISTS per_user, batch;
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE per_user AS
SELECT u.user_id, r.* FROM ids, unnest(ids.ids) u(user_id), mtrs_recommend(u.user_id, 10) r;
SELECT 'per_user', $r, round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 3);
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE batch AS SELECT b.* FROM ids, mtrs_recommend_batch(ids.ids, 10) b;
SELECT 'batch', $r, round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 3);
SQL
  tail -2 "$OUT/runs.txt"
done

DIFF=$(PSQL -d $DB -Atc "SELECT count(*) FROM (
  (SELECT user_id, item_id, rank FROM per_user EXCEPT ALL SELECT user_id, item_id, rank FROM batch)
  UNION ALL
  (SELECT user_id, item_id, rank FROM batch EXCEPT ALL SELECT user_id, item_id, rank FROM per_user)) d")
ROWS=$(PSQL -d $DB -Atc "SELECT count(*) FROM batch")
echo "$ROWS rows; rows that differ between per_user and batch: $DIFF" | tee -a "$OUT/results.txt"
[ "$DIFF" -eq 0 ] || { echo "per_user and batch differ" >&2; exit 1; }
median() { awk -F'|' -v m="$1" '$1 == m {print $3}' "$OUT/runs.txt" | sort -n |
           awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
P=$(median per_user)
B=$(median batch)
awk -v p="$P" -v b="$B" -v r="$ROUNDS" \
  'BEGIN {printf "per_user: median %.3f s, batch: median %.3f s over %d rounds (%.2fx the time)\n", p, b, r, b / p}' |
  tee -a "$OUT/results.txt"
