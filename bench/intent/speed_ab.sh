#!/usr/bin/env bash
# bench/intent/speed_ab.sh -- mtrs_intent speed of two builds of mtrs.so, taken in turn.
#
# Usage (as root, after bench/intent/intents.sh DATASET has loaded and trained the dataset;
# the server in PGHOST/PGPORT):
#   bash bench/intent/speed_ab.sh A.so B.so [ROUNDS]       # default 5 rounds
# Make A.so and B.so with `make` in two checkouts (cp mtrs.so /tmp/A.so ...).
#
# Each round installs A, then B, into the server's library directory (a new file renamed
# into place, so running backends keep theirs), and in a new session (so a new backend,
# which loads the installed file) runs intents.sh's query, every training utterance
# through mtrs_intent, 8 times: the first loads the model, the median of the other 7 is the
# round's figure. Prints each round's medians and B / A, then the median ratio; the
# machine's speed drifts between rounds, the ratio within a round much less. B stays
# installed.
set -Eeuo pipefail
A=${1:?A.so}
B=${2:?B.so}
ROUNDS=${3:-5}
DB=mtrs_bench_intent
LIB=$(pg_config --pkglibdir)
: "${PGHOST:?set PGHOST and PGPORT to the server intents.sh used}"
Q="SELECT count(i.intent) FROM utt_train u, mtrs_intent(u.text) i;"
N=$(psql -X -d $DB -Atc "SELECT count(*) FROM utt_train")

# install SO and print the median of its 7 timed runs, in ms
run_one() {
  cp "$1" "$LIB/.mtrs.so.new" && mv "$LIB/.mtrs.so.new" "$LIB/mtrs.so"
  local args=()
  for _ in 1 2 3 4 5 6 7 8; do args+=(-c "$Q"); done
  psql -X -d $DB -At -c '\timing on' "${args[@]}" | grep -Eo 'Time: [0-9.]+' | awk '{print $2}' |
    tail -7 | sort -n | sed -n 4p
}

echo "mtrs_intent over $N utterances; A = $A, B = $B"
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  a=$(run_one "$A")
  b=$(run_one "$B")
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b / a}')
  ratios+=("$ratio")
  awk -v r="$r" -v a="$a" -v b="$b" -v n="$N" -v q="$ratio" 'BEGIN {
    printf "round %d: A %.1f ms (%.0f utt/s), B %.1f ms (%.0f utt/s), B / A %s\n", r, a, n / (a / 1000), b, n / (b / 1000), q }'
done
printf '%s\n' "${ratios[@]}" | sort -n |
  awk '{x[NR] = $1} END {printf "median B / A over %d rounds: %.3f\n", NR, (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2}'
