#!/usr/bin/env bash
# bench/kernels/run.sh -- time the training kernels without a server (bench/kernels/solve.c):
# one 64 x 64 least-squares solve (NnCholeskySolve, against the textbook dot-product form
# it replaced; both give the same bits) and one 64-wide three-way dot product (NnDot3, against
# the one-chain sum it replaced).
# Built with the flags the extension gives src/mtrs_nn.c (KERNEL_FLAGS in the Makefile).
# Usage: bash bench/kernels/run.sh [RUNS]   (default 5; prints every run, then the medians)
# Output: bench/out/kernels/results.txt
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-5}
OUT=$ROOT/bench/out/kernels
mkdir -p "$OUT"
FLAGS=$(make -s -C "$ROOT" -f Makefile print-kernel-flags 2>/dev/null || true)
FLAGS=${FLAGS:--O3 -fno-math-errno -fno-signed-zeros -fno-trapping-math -ffp-contract=fast}
cc -std=gnu11 $FLAGS -I"$ROOT/include" -I"$ROOT/test/unit" -o "$OUT/solve" "$ROOT/bench/kernels/solve.c" "$ROOT/src/mtrs_nn.c" -lopenblas -lm
for r in $(seq 1 "$RUNS"); do OPENBLAS_NUM_THREADS=1 "$OUT/solve"; done > "$OUT/runs.txt"
{
  echo "# bench/kernels/run.sh, $(date -u +%F), $RUNS runs, flags: $FLAGS"
  grep same_solution "$OUT/runs.txt" | sort | uniq -c | awk '{print "same solution as the textbook form:", $3, "in", $1, "runs"}'
  for k in textbook_solve_us NnCholeskySolve_us sequential_dot3_ns NnDot3_ns; do
    grep "^$k " "$OUT/runs.txt" | awk '{print $2}' | sort -n | awk -v k="$k" '{v[NR]=$1} END {printf "%s median %s (min %s, max %s)\n", k, v[int((NR+1)/2)], v[1], v[NR]}'
  done
} | tee "$OUT/results.txt"
