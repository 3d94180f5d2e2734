#!/usr/bin/env bash
# bench/recsys/scale_warm.sh -- retraining from the previous model at scale.
#
# Usage (as root):  bash bench/recsys/scale_warm.sh [N] [ROUNDS]   (defaults 1000000 3)
# The synthetic shop of bench/lib.sh at N interactions (times uniform over 90 days). The rows
# from the 0.95 quantile of time on are held out; "today" is everything before them and
# "yesterday" everything before the 0.85 quantile. Yesterday's model is trained once with
# default options; then, ROUNDS times in turn, today's model from scratch (default options:
# 25 iterations) and with {"warm_start": "yesterday"} (then 5 iterations), each in a fresh
# backend. Reports the median wall time of each and mtrs_evaluate of the last two models on
# the held-out rows (ranking Recall/NDCG@20, AUC of the event heads).
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/scale-warm/{runs.txt,results.txt}
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000000}
ROUNDS=${2:-3}
OUT=$ROOT/bench/out/scale-warm
DB=mtrs_bench_scale_warm
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"
PSQL -q -d $DB -c "CREATE EXTENSION mtrs"
synthetic_shop_sql "$N" | PSQL -q -d $DB > /dev/null
PSQL -q -d $DB <<SQL
CREATE TABLE cut AS
SELECT percentile_disc(0.85) WITHIN GROUP (ORDER BY ts) AS yesterday,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY ts) AS today FROM events;
CREATE VIEW yesterday_events AS SELECT e.* FROM events e, cut WHERE e.ts < cut.yesterday;
CREATE VIEW today_events AS SELECT e.* FROM events e, cut WHERE e.ts < cut.today;
CREATE VIEW holdout AS SELECT e.* FROM events e, cut WHERE e.ts >= cut.today;
SET client_min_messages = warning;
SELECT mtrs_train('yesterday', 'yesterday_events') > 0 AS trained;
SQL
PSQL -d $DB -At <<SQL | tee "$OUT/results.txt"
SELECT format('%s rows: yesterday %s, today %s, held out %s; %s cores; %s',
              (SELECT count(*) FROM events), (SELECT count(*) FROM yesterday_events),
              (SELECT count(*) FROM today_events), (SELECT count(*) FROM holdout), $(nproc), current_date);
SQL

: > "$OUT/runs.txt"
for r in $(seq 1 "$ROUNDS"); do
  for kind in cold warm; do
    if [ $kind = warm ]; then opts='{"warm_start": "yesterday"}'; else opts='{}'; fi
    PSQL -q -d $DB -At <<SQL >> "$OUT/runs.txt"
SET client_min_messages = warning;
SELECT mtrs_drop_model('$kind') WHERE EXISTS (SELECT 1 FROM mtrs_model WHERE name = '$kind') \g /dev/null
SELECT clock_timestamp() AS t0 \gset
SELECT mtrs_train('$kind', 'today_events', options => '$opts') IS NOT NULL AS trained \gset
SELECT '$kind', $r, round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2),
       source->>'iterations', md5(weights)
  FROM mtrs_model WHERE name = '$kind' AND active;
SQL
    tail -1 "$OUT/runs.txt"
  done
done

PSQL -d $DB <<SQL | tee -a "$OUT/results.txt"
CREATE TEMP TABLE runs (kind text, round int, seconds numeric, iterations int, md5 text);
\copy runs FROM '$OUT/runs.txt' WITH (FORMAT csv, DELIMITER '|')
SELECT kind, min(iterations) AS iterations, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_s,
       string_agg(seconds::text, ', ' ORDER BY round) AS runs_s, count(DISTINCT md5) AS distinct_bytes
  FROM runs GROUP BY kind ORDER BY kind;
SELECT m.name, e.task, e.metric, e.value::numeric(8,5)
  FROM mtrs_model m, mtrs_evaluate(m.name, 'holdout', 20, event_col => 'event') e
 WHERE m.active AND e.metric IN ('recall@20', 'ndcg@20', 'auc')
 ORDER BY e.task, e.metric, m.name;
SQL
