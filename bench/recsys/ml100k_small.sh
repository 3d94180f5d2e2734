#!/usr/bin/env bash
# bench/recsys/ml100k_small.sh -- small tables: MovieLens-100K with most of its users left out.
#
# For M in 5 10 20 50 and R in 0 1 2: the users of the shared temporal split with
# user_id % M = R (their train and test rows), trained with mtrs_train and default options
# ("reg": "auto") and with "reg": 20 (the fixed default before), and ranked by popularity in
# that subset; each top-20 list is scored with the shared scorer against the subset's own
# train and test files. The auto rule's 0.15 was chosen on the validation split
# (val_train.csv -> val_test.csv) the same way; this script reports the test split.
#
# Usage (as root):  bash bench/recsys/ml100k_small.sh
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/ml100k-small/ (per subset: CSVs and metrics; summary.txt)
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
DATA=$SHARED/data/splits/ml-100k
OUT=$ROOT/bench/out/ml100k-small
DB=mtrs_bench_small
source "$ROOT/bench/lib.sh"
bench_packages python3-numpy python3-pandas python3-scipy
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL
CREATE EXTENSION mtrs;
$(ml100k_split_sql "$DATA/train.csv" "$DATA/test.csv")
SQL

for m in 5 10 20 50; do
  for r in 0 1 2; do
    d=$OUT/m$m-r$r
    mkdir -p "$d"
    chmod 777 "$d"
    for f in train test; do
      awk -F, -v m=$m -v r=$r 'NR == 1 || $1 % m == r' "$DATA/$f.csv" > "$d/$f.csv"
    done
    PSQL -q -d $DB <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS ev, te;
CREATE TABLE ev AS
SELECT user_id, item_id, 'rate'::text AS event, to_timestamp(ts) AS ts, rating FROM ml_train
 WHERE user_id % $m = $r
UNION ALL
SELECT user_id, item_id, 'like', to_timestamp(ts), NULL FROM ml_train WHERE user_id % $m = $r AND rating >= 4;
CREATE INDEX ON ev (user_id, ts);
CREATE TABLE te AS SELECT * FROM ml_test WHERE user_id % $m = $r;
SELECT mtrs_train('auto', 'ev', rating_col => 'rating') > 0,
       mtrs_train('fixed20', 'ev', rating_col => 'rating', options => '{"reg": 20}') > 0;
\copy (SELECT count(DISTINCT user_id), (SELECT source->>'interaction_norm' FROM mtrs_model WHERE name = 'auto' AND active), (SELECT source->>'reg' FROM mtrs_model WHERE name = 'auto' AND active) FROM ev) TO '$d/reg.csv' CSV
\copy (SELECT u.user_id, r.item_id, r.rank FROM (SELECT DISTINCT user_id FROM te) u, mtrs_recommend(u.user_id, 20, model => 'auto') r ORDER BY 1, 3) TO '$d/topk-auto.csv' CSV HEADER
\copy (SELECT u.user_id, r.item_id, r.rank FROM (SELECT DISTINCT user_id FROM te) u, mtrs_recommend(u.user_id, 20, model => 'fixed20') r ORDER BY 1, 3) TO '$d/topk-fixed20.csv' CSV HEADER
\copy (SELECT user_id, item_id, rank FROM (SELECT u.user_id, p.item_id, row_number() OVER (PARTITION BY u.user_id ORDER BY p.n DESC, p.item_id) AS rank FROM (SELECT DISTINCT user_id FROM te) u CROSS JOIN (SELECT item_id, count(*) AS n FROM ev WHERE event = 'rate' GROUP BY item_id) p WHERE NOT EXISTS (SELECT 1 FROM ev e WHERE e.user_id = u.user_id AND e.item_id = p.item_id)) s WHERE rank <= 20 ORDER BY 1, 3) TO '$d/topk-pop.csv' CSV HEADER
SELECT mtrs_drop_model('auto'), mtrs_drop_model('fixed20');
SQL
    for s in auto fixed20 pop; do
      /usr/bin/python3 "$SHARED/bench/recsys/metrics.py" --train "$d/train.csv" --test "$d/test.csv" \
        --topk "$d/topk-$s.csv" > "$d/metrics-$s.json"
    done
  done
done

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import csv, json, os, statistics, sys
out = sys.argv[1]
print("| users kept | users (3 subsets) | scale σ | reg (auto) | Recall@20 auto | reg 20 | popularity | auto / reg 20 | NDCG@20 auto | reg 20 | popularity |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for m in (5, 10, 20, 50):
    rows = []
    for r in (0, 1, 2):
        d = os.path.join(out, "m%d-r%d" % (m, r))
        users, norm, reg = next(csv.reader(open(os.path.join(d, "reg.csv"))))
        met = {s: json.load(open(os.path.join(d, "metrics-%s.json" % s))) for s in ("auto", "fixed20", "pop")}
        rows.append((int(users), float(norm), float(reg), met))
    med = lambda s, k: statistics.median(x[3][s][k] for x in rows)
    print("| 1 in %d | %s | %s | %s | %.4f | %.4f | %.4f | %.2f× | %.4f | %.4f | %.4f |" % (
        m, ", ".join(str(x[0]) for x in rows), ", ".join("%.1f" % x[1] for x in rows),
        ", ".join("%.2f" % x[2] for x in rows),
        med("auto", "recall@20"), med("fixed20", "recall@20"), med("pop", "recall@20"),
        med("auto", "recall@20") / med("fixed20", "recall@20"),
        med("auto", "ndcg@20"), med("fixed20", "ndcg@20"), med("pop", "ndcg@20")))
print("medians over the 3 subsets (user_id % M = 0, 1, 2); raw per-subset metrics in bench/out/ml100k-small/")
PY
