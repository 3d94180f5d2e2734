#!/usr/bin/python3
"""fastText on the folds of bench/intent/cv.sh, and on the test split over seeds.

  fasttext_seeds.py DATASET cv   [--seeds 0,1,2] [--folds 5]
  fasttext_seeds.py DATASET test [--seeds 0,1,...]

Uses the configuration the shared baseline chose on valid (summary.json of
../shared/bench/intent/run_fasttext.py, run first into $INTENT_RUNS, default
bench/out/ftruns) with Debian's /usr/bin/fasttext, one thread, and a different -seed per
run; tokenizes with the shared common.tokenize; scores with the shared scorer (top-1 for
single-label sets, the baseline's tuned threshold for multi-label ones). "cv": out-of-fold
predictions over train + valid with the same folds as cv.sh (utterance n, counted from 1
over train then valid, is in fold n % FOLDS). "test": the final model retrained on train.
"""
import argparse, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("MTRS_SHARED", os.path.join(ROOT, "..", "shared"))
sys.path.insert(0, os.path.join(SHARED, "bench", "intent"))
import common  # noqa: E402
import score  # noqa: E402

FT = "/usr/bin/fasttext"


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n").split("\t") for l in f if l.strip()]


def write_ft(path, data, labels=True):
    with open(path, "w", encoding="utf-8") as f:
        for text, label in data:
            head = " ".join("__label__" + l for l in label.split("#")) + " " if labels else ""
            f.write(head + " ".join(common.tokenize(text)) + "\n")


def fit_predict(cfg, seed, train, test, work, thr):
    write_ft(os.path.join(work, "tr.ft"), train)
    write_ft(os.path.join(work, "te.ft"), test, labels=False)
    model = os.path.join(work, "m")
    subprocess.run([FT, "supervised", "-input", os.path.join(work, "tr.ft"), "-output", model,
                    "-thread", "1", "-seed", str(seed), "-verbose", "0", "-bucket", "200000",
                    "-minCount", "1", "-lr", str(cfg["lr"]), "-epoch", str(cfg["epoch"]),
                    "-wordNgrams", str(cfg["wordNgrams"]), "-minn", str(cfg["minn"]),
                    "-maxn", str(cfg["maxn"]), "-dim", str(cfg["dim"]), "-loss", cfg["loss"]],
                   check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([FT, "predict-prob", model + ".bin", os.path.join(work, "te.ft"), "-1", "0.0"],
                         check=True, capture_output=True, text=True).stdout.split("\n")[: len(test)]
    preds = []
    for line in out:
        t = line.split()
        probs = [(t[i][len("__label__"):], float(t[i + 1])) for i in range(0, len(t), 2)]
        chosen = common.decide(probs, "top1" if thr is None else "multi", thr)
        preds.append("#".join(l for l, _ in probs if l in chosen))
    return preds


def scored(gold, preds, work):
    g, p, j = (os.path.join(work, n) for n in ("gold.tsv", "pred.txt", "score.json"))
    with open(g, "w", encoding="utf-8") as f:
        f.writelines("x\t%s\n" % label for _, label in gold)
    with open(p, "w", encoding="utf-8") as f:
        f.writelines(x + "\n" for x in preds)
    subprocess.run([sys.executable, score.__file__, g, p, "--json", j, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(j) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("mode", choices=["cv", "test"])
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--folds", type=int, default=5)
    a = ap.parse_args()
    if not os.path.exists(FT):
        sys.exit("fasttext_seeds.py: %s not found; install Debian's fasttext package "
                 "(bench/intent/spread.sh does)" % FT)
    runs = os.environ.get("INTENT_RUNS", os.path.join(ROOT, "bench", "out", "ftruns"))
    summary = os.path.join(runs, "fasttext", a.dataset, "summary.json")
    if not os.path.exists(summary):
        subprocess.run([sys.executable, os.path.join(SHARED, "bench", "intent", "run_fasttext.py"), a.dataset],
                       check=True, env=dict(os.environ, INTENT_RUNS=runs), stdout=subprocess.DEVNULL)
    with open(summary) as f:
        s = json.load(f)["summary"]
    cfg = s["best_cfg"]
    thr = s["threshold"] if s.get("multi_label") else None
    data = os.path.join(SHARED, "data", "intent", a.dataset)
    train, valid, test = (rows(os.path.join(data, n + ".tsv")) for n in ("train", "valid", "test"))
    with tempfile.TemporaryDirectory() as work:
        for seed in a.seeds.split(","):
            if a.mode == "cv":
                allrows = train + valid
                preds = [None] * len(allrows)
                for fold in range(a.folds):
                    part = [r for n, r in enumerate(allrows, 1) if n % a.folds != fold]
                    held = [(n, r) for n, r in enumerate(allrows, 1) if n % a.folds == fold]
                    for (n, _), p in zip(held, fit_predict(cfg, seed, part, [r for _, r in held], work, thr)):
                        preds[n - 1] = p
                j = scored(allrows, preds, work)
            else:
                j = scored(test, fit_predict(cfg, seed, train, test, work, thr), work)
            print("fastText %s %s seed %s: accuracy %.4f macro-F1 %.4f" %
                  (a.dataset, a.mode, seed, j["accuracy"], j["macro_f1"]), flush=True)


if __name__ == "__main__":
    main()
