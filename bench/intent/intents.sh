#!/usr/bin/env bash
# bench/intent/intents.sh -- mtrs intents on the shared intent protocol.
#
# Usage (as root):  bash bench/intent/intents.sh DATASET [OPTIONS_JSON] [SPLIT]
#   DATASET = snips | mixsnips | cais   (TSV splits in ../shared/data/intent/DATASET/)
#   SPLIT   = test (default) or valid: the split that is predicted and scored
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster
# (run scripts/test.sh once first to install everything).
# Loads train.tsv into PostgreSQL, trains an intent-only model with mtrs_train
# (decision rule tuned on valid.tsv via intents_validation when SPLIT is test),
# predicts SPLIT with mtrs_intent in SQL, scores with ../shared/bench/intent/score.py,
# and times mtrs_intent over every training utterance (utterances/s, one backend).
# Output: bench/out/intent-DATASET-SPLIT/{pred.txt,score.json,timing.txt}
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
NAME=${1:?dataset: snips, mixsnips or cais}
OPTIONS=${2:-'{}'}
SPLIT=${3:-test}
DATA=$SHARED/data/intent/$NAME
OUT=$ROOT/bench/out/intent-$NAME-$SPLIT
DB=mtrs_bench_intent
# the decision rule is tuned on the valid split when the test split is scored (as the
# baselines do), on a held-out part of the training utterances when valid itself is scored
VALIDATION=$([ "$SPLIT" = test ] && echo "'utt_valid'" || echo NULL)
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"

# TSV: text<TAB>label; read as CSV with a tab delimiter and a quote byte that never occurs
PSQL -q -d $DB <<SQL
CREATE EXTENSION mtrs;
CREATE TABLE utt_train (text text, label text);
CREATE TABLE utt_eval (id serial, text text, label text);
CREATE TABLE utt_valid (text text, label text);
\copy utt_train FROM '$DATA/train.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
\copy utt_valid FROM '$DATA/valid.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
\copy utt_eval (text, label) FROM '$DATA/$SPLIT.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
SQL

echo "training on $(PSQL -d $DB -Atc 'SELECT count(*) FROM utt_train') utterances with options $OPTIONS"
PSQL -d $DB -At <<SQL | tee "$OUT/timing.txt"
SET client_min_messages = warning;
\timing on
SELECT mtrs_train('intents', intents => 'utt_train', options => '$OPTIONS',
                  intents_validation => $VALIDATION);
\timing off
SELECT 'threshold ' || (source->'intents'->>'threshold') || ', validation accuracy ' ||
       (source->'intents'->>'validation_accuracy') || ', model ' || pg_size_pretty(size_bytes)
  FROM mtrs_model WHERE name = 'intents' AND active;
SQL

PSQL -d $DB -At <<SQL > /dev/null
\copy (SELECT coalesce((SELECT string_agg(intent, '#' ORDER BY score DESC) FROM mtrs_intent(e.text)), '') FROM utt_eval e ORDER BY id) TO '$OUT/pred.txt'
SQL

# prediction speed: every training utterance, in one backend, median of 3 runs after a
# first run that loads the model into the backend's cache (load time reported apart)
N=$(PSQL -d $DB -Atc "SELECT count(*) FROM utt_train")
Q="SELECT count(i.intent) FROM utt_train u, mtrs_intent(u.text) i;"
PSQL -d $DB -At -c '\timing on' -c "$Q" -c "$Q" -c "$Q" -c "$Q" | grep -Eo 'Time: [0-9.]+' | awk '{print $2}' > "$OUT/runs.txt"
head -1 "$OUT/runs.txt" | awk -v n="$N" '{printf "first run (model load included): %.1f ms\n", $1}' | tee -a "$OUT/timing.txt"
tail -3 "$OUT/runs.txt" | sort -n | sed -n 2p | awk -v n="$N" '{printf "mtrs_intent over %d utterances: median %.1f ms = %.0f utterances/s\n", n, $1, n / ($1 / 1000)}' |
  tee -a "$OUT/timing.txt"

/usr/bin/python3 "$SHARED/bench/intent/score.py" "$DATA/$SPLIT.tsv" "$OUT/pred.txt" --json "$OUT/score.json"

# the same numbers from SQL: mtrs_evaluate on the scored split
PSQL -d $DB -c "SELECT * FROM mtrs_evaluate('intents', 'utt_eval', text_col => 'text', label_col => 'label')" |
  tee "$OUT/mtrs_evaluate.txt"
