#!/usr/bin/env bash
# bench/serving/latency.sh -- serving speed on the ML-100K model, side by side
# with what a user would write without mtrs.
#
# Usage (as root, after bench/recsys/ml100k.sh left the database mtrs_bench with
# the model 'ml100k' and the table ml_test):
#   PGHOST=... PGPORT=... PGUSER=postgres bash bench/serving/latency.sh [SECONDS]
# Measures, single-threaded BLAS, warm cache:
#   * mtrs_recommend(user, 10) under pgbench (random user per call), 1 and 2 clients:
#     median and p95 latency per call from pgbench's per-transaction log;
#   * the same top-10 in plain SQL: vectors in real[] columns, ORDER BY a dot
#     product LIMIT 10 (random vectors of the model's width: the cost is the same);
#   * mtrs_predict over the 20k test rows (median of 5 runs) versus the plain-SQL
#     dot product over the same rows;
#   * mtrs_explain(user, item, 10) under pgbench (random user and item), 1 client.
# Writes bench/out/serving/results.txt.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/bench/lib.sh"	# pgbench_percentiles
SECS=${1:-15}
OUT=$ROOT/bench/out/serving
mkdir -p "$OUT"
chmod 777 "$OUT"
DB=mtrs_bench
PSQL() { psql -X -v ON_ERROR_STOP=1 -d $DB "$@"; }
DIM=$(PSQL -Atc "SELECT (mtrs_model_info('ml100k')->'format'->>'dim')::int")
N_USERS=$(PSQL -Atc "SELECT count(DISTINCT user_id) FROM ml_test")

PSQL -q <<SQL
DROP TABLE IF EXISTS user_vec, item_vec;
SELECT setseed(0.42);
CREATE TABLE user_vec AS
SELECT user_id, ARRAY(SELECT random()::real FROM generate_series(1, $DIM) WHERE u.user_id > 0) AS vec
  FROM (SELECT DISTINCT user_id FROM ml_train) u;
CREATE TABLE item_vec AS
SELECT item_id, ARRAY(SELECT random()::real FROM generate_series(1, $DIM) WHERE i.item_id > 0) AS vec
  FROM (SELECT DISTINCT item_id FROM ml_train) i;
ALTER TABLE user_vec ADD PRIMARY KEY (user_id);
ALTER TABLE item_vec ADD PRIMARY KEY (item_id);
ANALYZE user_vec, item_vec;
SQL

cat > "$OUT/mtrs.sql" <<SQL
\set uid random(1, $N_USERS)
SELECT * FROM mtrs_recommend(:uid, 10);
SQL
cat > "$OUT/plain.sql" <<SQL
\set uid random(1, $N_USERS)
SELECT i.item_id, (SELECT sum(a * b) FROM unnest(u.vec, i.vec) AS t(a, b)) AS score
  FROM user_vec u, item_vec i WHERE u.user_id = :uid ORDER BY score DESC LIMIT 10;
SQL
cat > "$OUT/explain.sql" <<SQL
\set uid random(1, $N_USERS)
\set iid random(1, $(PSQL -Atc "SELECT max(item_id) FROM ml_train"))
SELECT * FROM mtrs_explain(:uid, :iid, 10);
SQL

run_pgbench() {	# script clients
	local name=$1 clients=$2
	rm -f "$OUT"/pgbench_log.*
	(cd "$OUT" && pgbench -n -M prepared -f "$name.sql" -c "$clients" -j "$clients" -T "$SECS" -l $DB > "$name-$clients.txt" 2>&1)
	local tps
	tps=$(grep -Eo 'tps = [0-9.]+' "$OUT/$name-$clients.txt" | head -1)
	echo "$name top-10, $clients client(s): $(pgbench_percentiles "$OUT"/pgbench_log.*), $tps"
	rm -f "$OUT"/pgbench_log.*
}

timed_median() {	# query: median wall time of 5 runs, in ms
	for _ in 1 2 3 4 5; do
		PSQL -At -c '\timing on' -c "$1" | grep -Eo 'Time: [0-9.]+' | awk '{print $2}'
	done | sort -n | sed -n 3p
}

{
	echo "# serving benchmark, $(date -u +%F), dim $DIM, $N_USERS users, ${SECS}s per pgbench run"
	PSQL -Atc "SELECT count(*) FROM mtrs_recommend(1, 10)" > /dev/null	# warm the cache
	for c in 1 2; do
		run_pgbench mtrs $c
		run_pgbench plain $c
	done
	n=$(PSQL -Atc "SELECT count(*) FROM ml_test")
	PSQL -Atc "SELECT count(mtrs_predict(user_id, item_id, 'like')) FROM ml_test" > /dev/null
	t_mtrs=$(timed_median "SELECT count(mtrs_predict(user_id, item_id, 'like')) FROM ml_test")
	t_plain=$(timed_median "SELECT count((SELECT sum(a * b) FROM unnest(u.vec, i.vec) AS t(a, b)))
	                          FROM ml_test x JOIN user_vec u USING (user_id) JOIN item_vec i USING (item_id)")
	t_scan=$(timed_median "SELECT count(user_id + item_id) FROM ml_test")
	awk -v n="$n" -v a="$t_mtrs" -v b="$t_plain" -v s="$t_scan" 'BEGIN {
		printf "mtrs_predict over %d rows: median %.1f ms = %.0f rows/s (the bare scan takes %.1f ms)\n", n, a, n / (a / 1000), s;
		printf "plain-SQL dot product over the same rows: median %.1f ms = %.0f rows/s; mtrs is %.1fx faster\n", b, n / (b / 1000), b / a }'
	run_pgbench explain 1
} | tee "$OUT/results.txt"
