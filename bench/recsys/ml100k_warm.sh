#!/usr/bin/env bash
# bench/recsys/ml100k_warm.sh -- retraining from the previous model ("warm_start").
#
# A nightly retrain on the shared MovieLens-100K split (SPLIT=test, the default, or val):
# "yesterday's" model is trained
# with default options on the training rows before a global time cutoff (the CUTOFF quantile
# of their times, default 0.9: every row after it is new, and so are the users and items that
# first appear after it); today's models are trained on all training rows, from scratch and
# with "warm_start" from yesterday's, for several iteration counts. Each is scored in SQL by
# mtrs_evaluate on the test rows (the same numbers as the shared scorer: bench/README.md), and
# timed by its training log. Every model of the same options is trained ROUNDS times (the
# bytes are checked to be equal: a warm start is deterministic) and the median time reported.
#
# Usage (as root):  bash bench/recsys/ml100k_warm.sh [ITERATIONS...]   (default 1 2 3 5 10 25)
#   CUTOFF=0.9 ROUNDS=3 SPLIT=test in the environment change the cutoff, the rounds and the
#   split (val: val_train.csv -> val_test.csv, on which the warm default of 5 iterations was chosen).
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/ml100k-warm-<split>/summary.txt
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
DATA=$SHARED/data/splits/ml-100k
SPLIT=${SPLIT:-test}
if [ "$SPLIT" = val ]; then TRAIN=val_train.csv; TEST=val_test.csv; else TRAIN=train.csv; TEST=test.csv; fi
OUT=$ROOT/bench/out/ml100k-warm-$SPLIT
DB=mtrs_bench_warm
CUTOFF=${CUTOFF:-0.9}
ROUNDS=${ROUNDS:-3}
ITERS=("$@")
[ ${#ITERS[@]} -gt 0 ] || ITERS=(1 2 3 5 10 25)
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL
CREATE EXTENSION mtrs;
$(ml100k_split_sql "$DATA/$TRAIN" "$DATA/$TEST")
$(ml100k_events_sql)
CREATE INDEX ON ml_events (user_id, ts);
CREATE VIEW holdout AS
SELECT user_id, item_id, 'rate'::text AS event, rating FROM ml_test
UNION ALL SELECT user_id, item_id, 'like', NULL FROM ml_test WHERE rating >= 4;
CREATE TABLE cut AS SELECT to_timestamp(percentile_disc($CUTOFF) WITHIN GROUP (ORDER BY ts)) AS ts FROM ml_train;
CREATE VIEW old_events AS SELECT e.* FROM ml_events e, cut WHERE e.ts < cut.ts;
CREATE TABLE runs (model text, iterations int, round int, seconds float8, md5 text);
SET client_min_messages = warning;
SELECT mtrs_train('yesterday', 'old_events', rating_col => 'rating') > 0 AS trained;
SQL

{
  echo "split $SPLIT, cutoff quantile $CUTOFF, rounds $ROUNDS; $(date -u +%F)"
  PSQL -d $DB -At <<SQL
SELECT format('yesterday: %s rows of %s, %s of %s users, %s of %s items (cutoff %s)',
              (SELECT count(*) FROM old_events), (SELECT count(*) FROM ml_events),
              (SELECT count(DISTINCT user_id) FROM old_events), (SELECT count(DISTINCT user_id) FROM ml_events),
              (SELECT count(DISTINCT item_id) FROM old_events), (SELECT count(DISTINCT item_id) FROM ml_events),
              (SELECT ts FROM cut));
SQL
} | tee "$OUT/summary.txt"

for it in "${ITERS[@]}"; do
  for round in $(seq 1 "$ROUNDS"); do
    for kind in cold warm; do
      if [ $kind = warm ]; then opts="{\"iterations\": $it, \"warm_start\": \"yesterday\"}"
      else opts="{\"iterations\": $it}"; fi
      PSQL -q -d $DB > /dev/null <<SQL
SET client_min_messages = warning;
SELECT mtrs_drop_model('${kind}_$it') FROM mtrs_model WHERE name = '${kind}_$it' LIMIT 1;
SELECT mtrs_train('${kind}_$it', 'ml_events', rating_col => 'rating', options => '$opts') > 0;
INSERT INTO runs SELECT '$kind', $it, $round, (training_log->-1->>'seconds')::float8, md5(weights)
  FROM mtrs_model WHERE name = '${kind}_$it' AND active;
SQL
    done
  done
done

PSQL -d $DB <<SQL | tee -a "$OUT/summary.txt"
SELECT model, iterations,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::numeric(8,3) AS median_s,
       count(DISTINCT md5) AS distinct_bytes
  FROM runs GROUP BY model, iterations ORDER BY iterations, model;
SELECT m.name, e.metric, e.value::numeric(8,5)
  FROM mtrs_model m,
       mtrs_evaluate(m.name, 'holdout', 20, event_col => 'event', rating_col => 'rating') e
 WHERE m.active AND e.metric IN ('recall@20', 'ndcg@20', 'auc', 'rmse')
 ORDER BY m.name, e.task, e.metric;
SELECT source->'warm_start' AS warm_start FROM mtrs_model WHERE name = 'warm_${ITERS[0]}' AND active;
SQL
