#!/usr/bin/env bash
# bench/intent/small.sh -- intents learned from a few labelled utterances per intent.
#
# For SNIPS and CAIS, K in 3 10 30 100 and R in 0 1 2: the first K training utterances of
# every intent in an order drawn by R (md5 of R and the text), trained with mtrs_train and
# default options ("text_epochs": "auto") and with "text_epochs": 10 (the fixed default
# before); the test split predicted with mtrs_intent and scored with the shared scorer. The
# auto rule (at least 10 epochs and 10,000 steps) was chosen on the valid splits.
#
# Usage (as root):  bash bench/intent/small.sh
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Output: bench/out/intent-small/ (predictions, scores, summary.txt)
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
OUT=$ROOT/bench/out/intent-small
DB=mtrs_bench_intent_small
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"

PSQL -q -d $DB -c "CREATE EXTENSION mtrs"
for ds in snips cais; do
  DATA=$SHARED/data/intent/$ds
  PSQL -q -d $DB <<SQL
CREATE TABLE ${ds}_train (text text, label text);
CREATE TABLE ${ds}_test (id serial, text text, label text);
\copy ${ds}_train FROM '$DATA/train.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
\copy ${ds}_test (text, label) FROM '$DATA/test.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
SQL
  for k in 3 10 30 100; do
    for r in 0 1 2; do
      d=$OUT/$ds-k$k-r$r
      mkdir -p "$d"
      chmod 777 "$d"
      PSQL -q -d $DB <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS few;
CREATE TABLE few AS
SELECT text, label FROM (SELECT *, row_number() OVER (PARTITION BY label ORDER BY md5('$r' || text), text) AS n
                           FROM ${ds}_train) s
 WHERE n <= $k;
SELECT mtrs_train('auto', intents => 'few') > 0,
       mtrs_train('fixed10', intents => 'few', options => '{"text_epochs": 10}') > 0;
\copy (SELECT count(*), (SELECT source->>'text_epochs' FROM mtrs_model WHERE name = 'auto' AND active) FROM few) TO '$d/size.csv' CSV
\copy (SELECT coalesce((SELECT string_agg(intent, '#' ORDER BY score DESC) FROM mtrs_intent(e.text, 'auto')), '') FROM ${ds}_test e ORDER BY id) TO '$d/pred-auto.txt'
\copy (SELECT coalesce((SELECT string_agg(intent, '#' ORDER BY score DESC) FROM mtrs_intent(e.text, 'fixed10')), '') FROM ${ds}_test e ORDER BY id) TO '$d/pred-fixed10.txt'
SELECT mtrs_drop_model('auto'), mtrs_drop_model('fixed10');
SQL
      for s in auto fixed10; do
        /usr/bin/python3 "$SHARED/bench/intent/score.py" "$DATA/test.tsv" "$d/pred-$s.txt" --json "$d/score-$s.json" > /dev/null
      done
    done
  done
done

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import csv, json, os, statistics, sys
out = sys.argv[1]
print("| data | per intent | utterances | epochs (auto) | accuracy auto | 10 epochs | macro-F1 auto | 10 epochs |")
print("|---|---|---|---|---|---|---|---|")
for ds in ("snips", "cais"):
    for k in (3, 10, 30, 100):
        runs = []
        for r in (0, 1, 2):
            d = os.path.join(out, "%s-k%d-r%d" % (ds, k, r))
            n, epochs = next(csv.reader(open(os.path.join(d, "size.csv"))))
            sc = {s: json.load(open(os.path.join(d, "score-%s.json" % s))) for s in ("auto", "fixed10")}
            runs.append((int(n), int(epochs), sc))
        med = lambda s, key: statistics.median(x[2][s][key] for x in runs)
        print("| %s | %d | %s | %s | %.4f | %.4f | %.4f | %.4f |" % (
            ds, k, ", ".join(str(x[0]) for x in runs), ", ".join(str(x[1]) for x in runs),
            med("auto", "accuracy"), med("fixed10", "accuracy"),
            med("auto", "macro_f1"), med("fixed10", "macro_f1")))
print("medians over 3 draws of the utterances; raw scores in bench/out/intent-small/")
PY
