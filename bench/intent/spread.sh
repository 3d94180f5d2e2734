#!/usr/bin/env bash
# bench/intent/spread.sh -- test-split scores over training seeds, mtrs against fastText.
#
# Usage (as root):  bash bench/intent/spread.sh DATASET [N]
# mtrs: bench/intent/intents.sh DATASET with default options and seeds 42 (the default),
# 1 .. N-1; fastText: the shared baseline's chosen configuration retrained with -seed 0
# (the published baseline) .. N-1 (bench/intent/fasttext_seeds.py). Prints every run and the
# medians; output also in bench/out/intent-spread-DATASET.txt.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NAME=${1:?dataset: snips, mixsnips or cais}
N=${2:-11}
source "$ROOT/bench/lib.sh"
bench_packages fasttext
OUT=$ROOT/bench/out/intent-spread-$NAME.txt
mkdir -p "$ROOT/bench/out"
: > "$OUT"
for s in 42 $(seq 1 $((N - 1))); do
  bash "$ROOT/bench/intent/intents.sh" "$NAME" "{\"seed\": $s}" test > /dev/null 2>&1
  score_line "$ROOT/bench/out/intent-$NAME-test/score.json" "mtrs $NAME test seed $s" | tee -a "$OUT"
done
/usr/bin/python3 "$ROOT/bench/intent/fasttext_seeds.py" "$NAME" test --seeds "$(seq -s, 0 $((N - 1)))" | tee -a "$OUT"
/usr/bin/python3 - "$OUT" <<'PY' | tee -a "$OUT"
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) .* accuracy ([0-9.]+) macro-F1 ([0-9.]+)", line)
    if m:
        runs.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
for system, r in runs.items():
    acc, f1 = zip(*r)
    print("%s median over %d seeds: accuracy %.4f (%.4f-%.4f) macro-F1 %.4f (%.4f-%.4f)" %
          (system, len(r), statistics.median(acc), min(acc), max(acc),
           statistics.median(f1), min(f1), max(f1)))
PY
