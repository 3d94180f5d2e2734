#!/usr/bin/env bash
# bench/recsys/ml100k.sh -- mtrs on the shared MovieLens-100K protocol.
#
# Loads the shared temporal split (../shared/data/splits/ml-100k) into PostgreSQL,
# trains with mtrs_train, writes top-20 lists (mtrs_recommend) and pointwise predictions
# (mtrs_predict) for the test rows, and scores them with the shared scorer
# (../shared/bench/recsys/metrics.py), so the numbers sit beside BASELINES.md.
#
# Usage (as root):  bash bench/recsys/ml100k.sh [OPTIONS_JSON] [SPLIT]
#   SPLIT = test (default: train.csv -> test.csv) or val (val_train.csv -> val_test.csv)
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster
# (run scripts/test.sh or scripts/demo.sh once first to install everything).
# Output: bench/out/ml100k-<split>/{topk.csv,pointwise.csv,metrics.json}
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
OPTIONS=${1:-'{}'}
SPLIT=${2:-test}
if [ "$SPLIT" = val ]; then TRAIN=val_train.csv; TEST=val_test.csv; else TRAIN=train.csv; TEST=test.csv; fi
DATA=$SHARED/data/splits/ml-100k
OUT=$ROOT/bench/out/ml100k-$SPLIT
DB=mtrs_bench
source "$ROOT/bench/lib.sh"
bench_packages python3-numpy python3-pandas python3-scipy
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL
CREATE EXTENSION mtrs;
$(ml100k_split_sql "$DATA/$TRAIN" "$DATA/$TEST")
$(ml100k_events_sql)
SQL

echo "training with options $OPTIONS"
PSQL -d $DB -At <<SQL
SET client_min_messages = warning;
\timing on
SELECT mtrs_train('ml100k', 'ml_events', rating_col => 'rating', options => '$OPTIONS');
\timing off
SELECT 'in-training seconds: ' || (training_log->-1->>'seconds') FROM mtrs_model WHERE name = 'ml100k' AND active;
SQL

PSQL -q -d $DB <<SQL
\timing on
CREATE TEMP TABLE topk AS
SELECT u.user_id, r.item_id, r.rank
  FROM (SELECT DISTINCT user_id FROM ml_test) u, mtrs_recommend(u.user_id, 20) r;
CREATE TEMP TABLE pw AS
SELECT user_id, item_id, mtrs_predict(user_id, item_id, 'like') AS p_like,
       mtrs_predict(user_id, item_id, 'rating') AS rating_pred
  FROM ml_test;
\timing off
\copy (SELECT * FROM topk ORDER BY user_id, rank) TO '$OUT/topk.csv' CSV HEADER
\copy (SELECT user_id, item_id, p_like, rating_pred FROM pw) TO '$OUT/pointwise.csv' CSV HEADER
SQL
sed -i '1s/.*/user_id,item_id,p_like,rating_pred/' "$OUT/pointwise.csv"
/usr/bin/python3 "$SHARED/bench/recsys/metrics.py" --train "$DATA/$TRAIN" --test "$DATA/$TEST" \
  --topk "$OUT/topk.csv" --pointwise "$OUT/pointwise.csv" | tee "$OUT/metrics.json"

# the same numbers from SQL: mtrs_evaluate on the held-out rows (like = rating >= 4)
PSQL -d $DB <<SQL | tee "$OUT/mtrs_evaluate.txt"
CREATE VIEW holdout AS
SELECT user_id, item_id, 'rate'::text AS event, rating FROM ml_test
UNION ALL SELECT user_id, item_id, 'like', NULL FROM ml_test WHERE rating >= 4;
SELECT * FROM mtrs_evaluate('ml100k', 'holdout', 20, event_col => 'event', rating_col => 'rating');
SQL

# explanations of trained users (mtrs_explain re-solves a user from their history): how far
# the rows' sum is from the served score, over the top 10 of users 1-200, with the history
# read from the source table (with times) and from the training history alone (fold-in off)
PSQL -d $DB <<SQL | tee "$OUT/explain.txt"
CREATE TEMP TABLE top10 AS
SELECT u AS user_id, r.item_id, r.score FROM generate_series(1, 200) u, mtrs_recommend(u, 10) r;
SELECT 'source table' AS history, count(*) AS pairs, avg(score)::numeric(8,4) AS mean_score,
       avg(abs(total - score))::numeric(8,4) AS mean_abs_diff, corr(total, score)::numeric(8,4) AS corr
  FROM (SELECT t.*, (SELECT sum(contribution) FROM mtrs_explain(t.user_id, t.item_id, 100000)) AS total
          FROM top10 t) e;
SET mtrs.fold_in = off;
SELECT 'training history' AS history, count(*) AS pairs, avg(score)::numeric(8,4) AS mean_score,
       avg(abs(total - score))::numeric(8,4) AS mean_abs_diff, corr(total, score)::numeric(8,4) AS corr
  FROM (SELECT t.*, (SELECT sum(contribution) FROM mtrs_explain(t.user_id, t.item_id, 100000)) AS total
          FROM top10 t) e;
SQL
