#!/usr/bin/env bash
# bench/serving/predict_cost.sh -- what one call of mtrs_predict costs next to a simple operator,
# the measurement behind its declared COST (the planner evaluates cheaper conditions first).
#
# Trains the default ML-100K model of bench/recsys/ml100k.sh (shared temporal split), then times
# count(*) over 1,000,000 (user, item) pairs of the model (5 runs each, medians):
#   scan      no condition
#   operators WHERE (g % 7) + (g % 11) + (g % 13) + (g % 17) >= 0   (8 operators per row)
#   predict   WHERE mtrs_predict(u, i, task) > -1e9   (one call and one comparison), per task
# and prints each call's cost in operators: (predict - scan) / ((operators - scan) / 8).
#
# Usage (as root):  bash bench/serving/predict_cost.sh
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
DATA=$SHARED/data/splits/ml-100k
OUT=$ROOT/bench/out/predict_cost
DB=mtrs_bench_predict_cost
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL
$(ml100k_default_model_sql "$DATA/train.csv" "$DATA/test.csv")
CREATE TABLE pairs (g int, u bigint, i bigint);
INSERT INTO pairs
WITH us AS (SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 AS n FROM (SELECT DISTINCT user_id FROM ml_train) d),
     it AS (SELECT item_id, row_number() OVER (ORDER BY item_id) - 1 AS n FROM (SELECT DISTINCT item_id FROM ml_train) d)
SELECT g, us.user_id, it.item_id
  FROM generate_series(0, 999999) g
  JOIN us ON us.n = g % (SELECT count(*) FROM us)
  JOIN it ON it.n = (g * 7) % (SELECT count(*) FROM it);
VACUUM ANALYZE pairs;
CREATE FUNCTION ms(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; r bigint;
BEGIN
  t0 := clock_timestamp();
  EXECUTE q INTO r;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
SQL

PSQL -q -d $DB -At <<'SQL' | tee "$OUT/summary.txt"
SET max_parallel_workers_per_gather = 0;
\o /dev/null
SELECT count(*) FROM pairs WHERE mtrs_predict(u, i) > -1e9;   -- load the model
CREATE TEMP TABLE runs (what text, ms float8);
DO $$
BEGIN
  FOR r IN 1..5 LOOP
    INSERT INTO runs VALUES ('scan', ms('SELECT count(*) FROM pairs'));
    INSERT INTO runs VALUES ('operators', ms('SELECT count(*) FROM pairs WHERE (g % 7) + (g % 11) + (g % 13) + (g % 17) >= 0'));
    INSERT INTO runs VALUES ('ranking', ms('SELECT count(*) FROM pairs WHERE mtrs_predict(u, i) > -1e9'));
    INSERT INTO runs VALUES ('like', ms('SELECT count(*) FROM pairs WHERE mtrs_predict(u, i, ''like'') > -1e9'));
    INSERT INTO runs VALUES ('rating', ms('SELECT count(*) FROM pairs WHERE mtrs_predict(u, i, ''rating'') > -1e9'));
  END LOOP;
END $$;
\o
WITH m AS (SELECT what, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM runs GROUP BY what),
     base AS (SELECT (SELECT ms FROM m WHERE what = 'scan') AS scan,
                     ((SELECT ms FROM m WHERE what = 'operators') - (SELECT ms FROM m WHERE what = 'scan')) / 8 AS op)
SELECT rpad(what, 10) || 'median ' || to_char(ms, 'FM99990.0') || ' ms over 1,000,000 rows' ||
       CASE WHEN what IN ('scan', 'operators') THEN ''
            ELSE ': ' || to_char((ms - scan) / 1000, 'FM0.000') || ' us per call = '
                 || round(((ms - scan) / op)::numeric) || ' operators' END
  FROM m, base ORDER BY array_position(ARRAY['scan', 'operators', 'ranking', 'like', 'rating'], what);
SQL
