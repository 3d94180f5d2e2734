#!/usr/bin/python3
"""Paired bootstrap of two systems' predictions on one split.

  bootstrap.py GOLD.tsv PRED_A PRED_B [--draws 10000] [--seed 1]

Scores both prediction files with the shared scorer (../shared/bench/intent/score.py),
then draws the split's utterances with replacement DRAWS times, scoring both systems on
the same draw, and prints for accuracy and macro-F1: each system's score, the observed
difference A - B, the 2.5 % and 97.5 % percentiles of the drawn differences, and the share
of draws in which A scores at least as high as B. Macro-F1 is averaged over the intents that
occur in the draw's gold labels or predictions, as the scorer does.
"""
import argparse, os, random, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("MTRS_SHARED", os.path.join(ROOT, "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "bench", "intent"))
import score  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gold")
    ap.add_argument("pred_a")
    ap.add_argument("pred_b")
    ap.add_argument("--draws", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    gold = [labels for _, labels in score.read_gold(a.gold)]
    pa, pb = score.read_pred(a.pred_a), score.read_pred(a.pred_b)
    base_a, base_b = score.score(gold, pa), score.score(gold, pb)
    rng = random.Random(a.seed)
    n = len(gold)
    diffs = {"accuracy": [], "macro_f1": []}
    for _ in range(a.draws):
        idx = [rng.randrange(n) for _ in range(n)]
        g = [gold[i] for i in idx]
        sa, sb = score.score(g, [pa[i] for i in idx]), score.score(g, [pb[i] for i in idx])
        for m in diffs:
            diffs[m].append(sa[m] - sb[m])
    print(f"{n} utterances, {a.draws} paired draws (seed {a.seed}); A = {a.pred_a}, B = {a.pred_b}")
    for m, d in diffs.items():
        d.sort()
        lo, hi = d[int(0.025 * len(d))], d[int(0.975 * len(d)) - 1]
        share = sum(x >= 0 for x in d) / len(d)
        print(f"{m}: A {base_a[m]:.4f}, B {base_b[m]:.4f}, A - B {base_a[m] - base_b[m]:+.4f}, "
              f"95 % interval of A - B [{lo:+.4f}, {hi:+.4f}], A >= B in {share:.1%} of draws")


if __name__ == "__main__":
    main()
