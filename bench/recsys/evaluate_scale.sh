#!/usr/bin/env bash
# bench/recsys/evaluate_scale.sh [N [ROUNDS [COMMIT]]] -- mtrs_evaluate on a large holdout,
# this build against the mtrs_evaluate of another commit (default 5abd9c4, the last one that
# collected the holdout in temporary tables), the two alternating.
#
# The synthetic shop of scale.sh at N interactions (default 1,000,000; bench/lib.sh), the
# newest 10 % of its rows (by time) held out, a model trained on the rest with default options,
# then ROUNDS rounds (default 3) of: in a new session each, the reference function, then this
# build's, both with store => false, timed. Prints each time, the medians and their ratio, and
# whether both gave the same metrics (to 1e-12). Starts a throw-away cluster unless PGHOST
# is set. Output: bench/out/evaluate-scale/.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-1000000}
ROUNDS=${2:-3}
COMMIT=${3:-5abd9c4}
OUT=$ROOT/bench/out/evaluate-scale
DB=mtrs_bench_evaluate
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"
PSQL -q -d $DB -c "CREATE EXTENSION mtrs"

{ echo "SET client_min_messages = warning;"; synthetic_shop_sql "$N"; } | PSQL -q -d $DB > /dev/null
PSQL -q -d $DB <<'SQL'
SET client_min_messages = warning;
SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY ts) AS cut FROM events \gset
CREATE VIEW train_rows AS SELECT * FROM events WHERE ts < :'cut';
CREATE TABLE holdout AS SELECT * FROM events WHERE ts >= :'cut';
ANALYZE holdout;
SELECT mtrs_train('shop', 'train_rows') IS NOT NULL AS trained;
SQL

# the reference: that commit's mtrs_evaluate, as public.ref_evaluate
git -C "$ROOT" show "$COMMIT:sql/mtrs.sql" | python3 -c '
import sys
s = sys.stdin.read()
i = s.index("CREATE FUNCTION @extschema@.mtrs_evaluate(")
j = s.index("COMMENT ON FUNCTION @extschema@.mtrs_evaluate(")
f = s[i:j].replace("@extschema@.mtrs_evaluate(", "public.ref_evaluate(", 1)
print(f.replace("@extschema@", "public").replace("mtrs_evaluate.", "ref_evaluate."))
' > "$OUT/ref_evaluate.sql"
PSQL -q -d $DB -f "$OUT/ref_evaluate.sql"

{
  echo "# mtrs_evaluate('shop', 'holdout', 20, event_col => 'event', store => false) on the synthetic shop at"
  echo "# $N interactions: $(PSQL -d $DB -Atc "SELECT count(*) || ' held-out rows of ' || count(DISTINCT user_id) || ' users' FROM holdout");"
  echo "# ref = $COMMIT's function, new = this build's ($(git -C "$ROOT" rev-parse --short HEAD)); a new session per call, ms"
} | tee "$OUT/results.txt"
for r in $(seq "$ROUNDS"); do
  for f in ref_evaluate mtrs_evaluate; do
    ms=$(PSQL -d $DB -At <<SQL | tail -1
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE m AS SELECT * FROM $f('shop', 'holdout', 20, event_col => 'event', store => false);
SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000);
SQL
)
    echo "$f $ms" | tee -a "$OUT/results.txt"
  done
done
PSQL -d $DB -At > "$OUT/same.txt" <<'SQL'
WITH a AS (SELECT * FROM ref_evaluate('shop', 'holdout', 20, event_col => 'event', store => false)),
     b AS (SELECT * FROM mtrs_evaluate('shop', 'holdout', 20, event_col => 'event', store => false))
SELECT count(*) = (SELECT count(*) FROM a) AND count(*) = (SELECT count(*) FROM b)
       AND bool_and(abs(a.value - b.value) <= 1e-12 * greatest(abs(a.value), 1))
  FROM a JOIN b USING (task, metric);
SQL
awk '$1 == "ref_evaluate" {r[++nr] = $2} $1 == "mtrs_evaluate" {m[++nm] = $2}
     function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                     return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
     END { mr = med(r, nr); mm = med(m, nm); printf "medians: ref %.0f ms, new %.0f ms, new / ref %.2f\n", mr, mm, mm / mr }' \
  "$OUT/results.txt" | tee -a "$OUT/results.txt"
echo "same metrics (to 1e-12): $(cat "$OUT/same.txt")" | tee -a "$OUT/results.txt"
