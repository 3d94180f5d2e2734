#!/usr/bin/env bash
# bench/intent/cv.sh -- out-of-fold intent scores on train + valid (k-fold cross-validation).
#
# Usage (as root):  bash bench/intent/cv.sh DATASET [OPTIONS_JSON] [FOLDS]
# Loads train.tsv and valid.tsv of ../shared/data/intent/DATASET (utterance n = line n of
# train then valid), trains mtrs_train(..., intents => fold's training part, options) once
# per fold (fold f = utterances with n % FOLDS = f), predicts the held-out fold with
# mtrs_intent in SQL and scores all out-of-fold predictions with the shared scorer.
# No test utterance is used: this is how text defaults are chosen (CAIS's valid split has
# 1-3 utterances of its rarest intents, too few to choose by macro-F1).
# bench/intent/fasttext_seeds.py runs fastText on the same folds.
# Uses the server in PGHOST/PGPORT if PGHOST is set, else a throw-away cluster.
# Output: bench/out/intent-cv-DATASET/{gold.tsv,pred.txt,score.json}
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
NAME=${1:?dataset: snips, mixsnips or cais}
OPTIONS=${2:-'{}'}
FOLDS=${3:-5}
DATA=$SHARED/data/intent/$NAME
OUT=$ROOT/bench/out/intent-cv-$NAME
DB=mtrs_bench_intent_cv
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL
CREATE EXTENSION mtrs;
CREATE TABLE utt (n serial PRIMARY KEY, text text, label text);
\copy utt (text, label) FROM '$DATA/train.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
\copy utt (text, label) FROM '$DATA/valid.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
CREATE TABLE oof (n int PRIMARY KEY, pred text);
SQL

for f in $(seq 0 $((FOLDS - 1))); do
  PSQL -q -d $DB -o /dev/null <<SQL
SET client_min_messages = warning;
CREATE OR REPLACE VIEW fold_train AS SELECT text, label FROM utt WHERE n % $FOLDS <> $f;
SELECT mtrs_drop_model('cv') WHERE EXISTS (SELECT 1 FROM mtrs_model WHERE name = 'cv');
SELECT mtrs_train('cv', intents => 'fold_train', options => '$OPTIONS');
INSERT INTO oof
SELECT n, coalesce((SELECT string_agg(intent, '#' ORDER BY score DESC)
                      FROM mtrs_intent(u.text, model => 'cv')), '')
  FROM utt u WHERE n % $FOLDS = $f;
SQL
done

PSQL -d $DB -At <<SQL > /dev/null
\copy (SELECT 'x', label FROM utt ORDER BY n) TO '$OUT/gold.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
\copy (SELECT pred FROM oof ORDER BY n) TO '$OUT/pred.txt' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
SQL
/usr/bin/python3 "$SHARED/bench/intent/score.py" "$OUT/gold.tsv" "$OUT/pred.txt" --json "$OUT/score.json" --quiet > /dev/null
score_line "$OUT/score.json" "$NAME $OPTIONS $FOLDS-fold" | tee "$OUT/summary.txt"
