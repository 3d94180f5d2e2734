#!/usr/bin/env bash
# bench/serving/vectors.sh -- a model served outside mtrs from its exported vectors.
#
# Trains the default ML-100K model of bench/recsys/ml100k.sh (shared temporal split), exports
# it with mtrs_item_vectors() / mtrs_user_vectors() (timed, median of 3 COPYs), ranks every
# test user's unseen items by inner product in numpy (what a vector index ranking by inner
# product, such as pgvector's vector_ip_ops, computes exactly), and compares the top 20 with
# mtrs_recommend's: identical rows, and both scored by the shared scorer.
#
# Usage (as root):  bash bench/serving/vectors.sh
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/vectors/{items.csv,users.csv,topk_rec.csv,topk_vec.csv,*.json,timing.txt}
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
DATA=$SHARED/data/splits/ml-100k
OUT=$ROOT/bench/out/vectors
DB=mtrs_bench_vectors
source "$ROOT/bench/lib.sh"
bench_packages python3-numpy python3-pandas python3-scipy
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL
$(ml100k_default_model_sql "$DATA/train.csv" "$DATA/test.csv")
SQL

# export timing: COPY of every vector to a file, after a first call that loads the model
PSQL -q -d $DB <<SQL 2>&1 | tee "$OUT/timing.txt"
SELECT count(*) AS warm FROM mtrs_item_vectors();
\timing on
\echo items
\copy (SELECT * FROM mtrs_item_vectors()) TO '$OUT/items.csv' CSV HEADER
\copy (SELECT * FROM mtrs_item_vectors()) TO '$OUT/items.csv' CSV HEADER
\copy (SELECT * FROM mtrs_item_vectors()) TO '$OUT/items.csv' CSV HEADER
\echo users
\copy (SELECT * FROM mtrs_user_vectors()) TO '$OUT/users.csv' CSV HEADER
\copy (SELECT * FROM mtrs_user_vectors()) TO '$OUT/users.csv' CSV HEADER
\copy (SELECT * FROM mtrs_user_vectors()) TO '$OUT/users.csv' CSV HEADER
\echo recommend
\copy (SELECT u.user_id, r.item_id, r.rank FROM (SELECT DISTINCT user_id FROM ml_test) u, mtrs_recommend(u.user_id, 20) r ORDER BY 1, 3) TO '$OUT/topk_rec.csv' CSV HEADER
\timing off
SQL

/usr/bin/python3 - "$OUT" "$DATA" <<'PY' | tee "$OUT/compare.txt"
import csv, sys
import numpy as np
out, data = sys.argv[1], sys.argv[2]

def vectors(path):
    ids, vecs = [], []
    with open(path) as f:
        r = csv.reader(f); next(r)
        for row in r:
            ids.append(int(row[0]))
            vecs.append([float(x) for x in row[1].strip("{}").split(",")])
    return np.array(ids), np.array(vecs, dtype=np.float32)

iid, I = vectors(out + "/items.csv")
uid, U = vectors(out + "/users.csv")
col = {int(i): c for c, i in enumerate(iid)}
urow = {int(u): r for r, u in enumerate(uid)}
seen = {}
with open(data + "/train.csv") as f:
    r = csv.DictReader(f)
    for row in r:
        seen.setdefault(int(row["user_id"]), set()).add(int(row["item_id"]))
test_users = sorted({int(row["user_id"]) for row in csv.DictReader(open(data + "/test.csv"))})
S = U @ I.T                              # every user's inner product with every item
with open(out + "/topk_vec.csv", "w") as f:
    f.write("user_id,item_id,rank\n")
    for u in test_users:
        s = S[urow[u]].astype(np.float64)
        for i in seen.get(u, ()):
            s[col[i]] = -np.inf
        top = np.argsort(-s, kind="stable")[:20]
        for rank, c in enumerate(top, 1):
            f.write(f"{u},{iid[c]},{rank}\n")
rec = set(tuple(l.strip().split(",")) for l in open(out + "/topk_rec.csv").readlines()[1:])
vec = set(tuple(l.strip().split(",")) for l in open(out + "/topk_vec.csv").readlines()[1:])
print(f"vector length {U.shape[1]}, {len(uid)} users, {len(iid)} items")
print(f"top-20 rows: mtrs_recommend {len(rec)}, inner products {len(vec)}, identical {len(rec & vec)}")
PY

for f in rec vec; do
  echo "shared scorer, top 20 from $f:"
  /usr/bin/python3 "$SHARED/bench/recsys/metrics.py" --train "$DATA/train.csv" --test "$DATA/test.csv" \
    --topk "$OUT/topk_$f.csv" | tee "$OUT/metrics_$f.json"
done
