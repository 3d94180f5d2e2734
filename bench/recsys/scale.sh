#!/usr/bin/env bash
# bench/recsys/scale.sh -- training time and memory as interactions grow.
#
# Usage (as root):  bash bench/recsys/scale.sh [N ...]      (default: 100000 1000000 10000000)
# For each N, generates the synthetic shop of bench/lib.sh (synthetic_shop_sql: N / 50 users,
# max(1000, N / 200) items, views plus 30 % clicks and 5 % purchases). Then trains
# mtrs_train('scale', 'events') with default options in a fresh backend and records the
# wall time of mtrs_train, the seconds the training log reports (the iterations), the
# memory the run accounted for (source->'memory_bytes', what mtrs.max_training_memory is
# checked against), the backend's peak resident memory (VmHWM in /proc) and the model
# size, and, for the largest N, how long one call of mtrs_recommend takes (pgbench, one
# client, random users, 10 s: median and p95 of the calls).
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/scale/results.txt (one line per N).
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=${*:-100000 1000000 10000000}
OUT=$ROOT/bench/out/scale
DB=mtrs_bench_scale
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"
PSQL -q -d $DB -c "CREATE EXTENSION mtrs"

printf '%-12s %9s %8s %8s %9s %9s %12s %8s %9s\n' interactions rows users items train_s iter_s accounted_MB peak_MB model_MB |
  tee "$OUT/results.txt"
for N in $SIZES; do
  U=$((N / 50))
  { echo "SET client_min_messages = warning;"
    echo "SELECT mtrs_drop_model('scale') WHERE EXISTS (SELECT 1 FROM mtrs_model WHERE name = 'scale');"
    synthetic_shop_sql "$N"; } | PSQL -q -d $DB > /dev/null
  ROWS=$(PSQL -d $DB -Atc "SELECT count(*) FROM events")
  # a fresh backend: its peak resident memory is the training's
  RES=$(PSQL -q -d $DB -At <<'SQL' | tail -1
SET client_min_messages = warning;
SELECT pg_backend_pid() AS pid \gset
SELECT clock_timestamp() AS t0 \gset
SELECT mtrs_train('scale', 'events') IS NOT NULL AS trained \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2) AS train_s \gset
\setenv MTRS_PID :pid
\! awk '/VmHWM/ {printf "%.0f\n", $2 / 1024}' /proc/$MTRS_PID/status > /tmp/mtrs_scale_hwm
SELECT :'train_s', training_log->-1->>'seconds', n_users, n_items,
       round((source->>'memory_bytes')::numeric / 1048576), round(size_bytes / 1048576.0, 1)
  FROM mtrs_model WHERE name = 'scale' AND active;
SQL
)
  IFS='|' read -r TRAIN_S ITER_S NU NI ACC_MB MODEL_MB <<< "$RES"
  printf '%-12s %9s %8s %8s %9s %9s %12s %8s %9s\n' "$N" "$ROWS" "$NU" "$NI" "$TRAIN_S" "$ITER_S" \
    "$ACC_MB" "$(cat /tmp/mtrs_scale_hwm)" "$MODEL_MB" | tee -a "$OUT/results.txt"
done
rm -f /tmp/mtrs_scale_hwm

# serving on the largest model: pgbench, one client, a random user per call (prepared
# statement), 10 s after a call that loads the model
cat > "$OUT/recommend.sql" <<SQL
\set uid random(1, $U)
SELECT * FROM mtrs_recommend(:uid, 10);
SQL
PSQL -d $DB -Atc "SELECT count(*) FROM mtrs_recommend(1, 10)" > /dev/null
(cd "$OUT" && PGBENCH -n -M prepared -f recommend.sql -c 1 -T 10 -l $DB > pgbench.txt 2>&1)
echo "mtrs_recommend(user, 10) on the largest model (pgbench, 1 client, 10 s): $(pgbench_percentiles "$OUT"/pgbench_log.*)" |
  tee -a "$OUT/results.txt"
rm -f "$OUT"/pgbench_log.*
