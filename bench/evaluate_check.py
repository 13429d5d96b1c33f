"""Check `bertkit evaluate` on real data: every reported number recomputed independently from its predictions.

SST-2 dev (../shared/data/sst2/dev.tsv, 872 sentences) and CoNLL-2003 test (../shared/data/conll2003/test.txt,
3,453 sentences), each with a model trained by `bertkit finetune` (the packaged MiniLM). Without --sst2-model /
--conll-model the script trains them briefly with the shipped recipes (--steps optimizer steps on --train-samples
examples; reused when already in bench/out/evaluate-check).

For each model it runs the real command, `bertkit evaluate MODEL --data FILE --output DIR`, then:
- reads the gold labels from the data file with its own parser and checks them against predictions.jsonl;
- recomputes the metrics from predictions.jsonl with scikit-learn (accuracy, macro/weighted P/R/F1, MCC, confusion
  matrix) or seqeval (entity P/R/F1 in the default and the strict IOB2 mode, per-type F1, word accuracy);
- prints reported vs independent values and the largest difference; exit code 1 if any differs by more than 1e-9;
- prints the run's own final metrics (metrics.json from finetune) beside `bertkit evaluate`'s, and the command's
  wall time and peak memory (RSS).

Run it alone: flock /tmp/bertkit-bench.lock python bench/evaluate_check.py [--steps 300] [--train-samples 8000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "evaluate-check"
SHARED = Path(os.environ.get("BERTKIT_BENCH_DATA", ROOT.parent / "shared" / "data"))
SST2 = SHARED / "sst2"
CONLL = SHARED / "conll2003"
TOLERANCE = 1e-9


def run(command: list[str]) -> float:
    """Run a command; its wall seconds. Stops the script if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"command failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def run_measured(command: list[str]) -> tuple[float, float, str]:
    """Run a command; (wall seconds, peak RSS in MiB of exactly this process, its stdout)."""
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=devnull) as process:
        stdout = process.stdout.read().decode("utf-8")
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode:
        sys.exit(f"command failed ({process.returncode}): {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024, stdout


def train(name: str, recipe: str, data: Path, steps: int, samples: int, retrain: bool) -> Path:
    out = OUT / f"{name}-model"
    if (out / "bertkit_run.json").is_file() and not retrain:
        print(f"{name}: reusing {out}")
        return out
    overrides = {
        "model.name": "minilm",
        "data.dataset": str(data),
        "data.max_train_samples": samples,
        "training.max_steps": steps,
        "evaluation.bootstrap_samples": 0,
        "output.dir": str(out),
        "output.overwrite": "true",
    }
    command = ["bertkit", "finetune", str(ROOT / "recipes" / recipe), "--log-format", "plain"]
    for key, value in overrides.items():
        command += ["--set", f"{key}={value}"]
    seconds = run(command)
    print(f"{name}: trained {steps} steps on {samples} examples in {seconds:.0f} s -> {out}")
    return out


def evaluate(model: Path, data: Path, out: Path, *extra: str) -> tuple[dict, list[dict], float, float]:
    command = ["bertkit", "evaluate", str(model), "--data", str(data), "--output", str(out), "--json", *extra]
    seconds, peak, stdout = run_measured(command)
    report = json.loads(stdout)
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    return report, rows, seconds, peak


def show(title: str, pairs: list[tuple[str, float, float]]) -> float:
    print(f"\n{title}")
    print(f"  {'metric':<24}{'bertkit evaluate':>18}{'independent':>14}{'|diff|':>11}")
    worst = 0.0
    for name, reported, independent in pairs:
        diff = abs(reported - independent)
        worst = max(worst, diff)
        print(f"  {name:<24}{reported:>18.6f}{independent:>14.6f}{diff:>11.1e}")
    return worst


# ------------------------------------------------------------------------------------------------------ SST-2
def read_sst2_labels() -> list[str]:
    with (SST2 / "dev.tsv").open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [label for _, label in reader]


def check_sst2(model: Path) -> float:
    from sklearn import metrics as sk

    report, rows, seconds, peak = evaluate(model, SST2 / "dev.tsv", OUT / "sst2-report")
    split = next(iter(report["splits"].values()))
    names = report["model"]["labels"]
    file_labels = [names[int(label)] for label in read_sst2_labels()]  # the recipe's task.labels, by position
    if [r["gold"] for r in rows] != file_labels:
        sys.exit("SST-2: the gold labels in predictions.jsonl are not those of dev.tsv")
    gold, pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
    m = split["metrics"]
    pairs = [("accuracy", m["accuracy"], sk.accuracy_score(gold, pred))]
    for average in ("macro", "weighted"):
        p, r, f, _ = sk.precision_recall_fscore_support(gold, pred, average=average, zero_division=0)
        pairs += [
            (f"{average}_precision", m[f"{average}_precision"], p),
            (f"{average}_recall", m[f"{average}_recall"], r),
        ]
        pairs += [(f"{average}_f1", m[f"{average}_f1"], f)]
    pairs.append(("mcc", m["mcc"], sk.matthews_corrcoef(gold, pred)))
    matrix = sk.confusion_matrix(gold, pred, labels=split["confusion_matrix"]["labels"]).tolist()
    cells = sum(
        abs(a - b)
        for ra, rb in zip(split["confusion_matrix"]["matrix"], matrix, strict=True)
        for a, b in zip(ra, rb, strict=True)
    )
    pairs.append(("confusion matrix cells", 0.0, float(cells)))
    worst = show(f"SST-2 dev: {len(rows)} sentences, model {model.name} (scikit-learn)", pairs)
    final = json.loads((model / "metrics.json").read_text())["splits"]["validation"]
    print(
        f"  finetune's own final accuracy on the same dev set: {final['accuracy']:.6f} (evaluate: {m['accuracy']:.6f})"
    )
    ci = split["confidence_intervals"]["accuracy"]
    truncated = split["truncation"]["examples_truncated"]
    print(f"  accuracy 95% CI {ci['low']:.4f}-{ci['high']:.4f}; truncated examples {truncated}")
    print(f"  bertkit evaluate: {seconds:.1f} s wall, peak RSS {peak:.0f} MiB")
    return worst


# --------------------------------------------------------------------------------------------------- CoNLL
def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, words, tags = [], [], []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip() or line.startswith("-DOCSTART-"):
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        parts = line.split()
        words.append(parts[0])
        tags.append(parts[-1])
    return sentences


def check_conll(model: Path) -> float:
    from seqeval import metrics as sq
    from seqeval.scheme import IOB2

    report, rows, seconds, peak = evaluate(model, CONLL / "test.txt", OUT / "conll-report")
    split = next(iter(report["splits"].values()))
    sentences = read_conll(CONLL / "test.txt")
    if [(r["tokens"], r["gold"]) for r in rows] != sentences:
        sys.exit("CoNLL: the words/gold tags in predictions.jsonl are not those of test.txt")
    gold, pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
    m = split["metrics"]
    pairs = [
        ("precision", m["precision"], sq.precision_score(gold, pred)),
        ("recall", m["recall"], sq.recall_score(gold, pred)),
        ("f1", m["f1"], sq.f1_score(gold, pred)),
        ("token_accuracy", m["token_accuracy"], sq.accuracy_score(gold, pred)),
        ("strict_f1 (IOB2)", m["strict_f1"], sq.f1_score(gold, pred, mode="strict", scheme=IOB2)),
        ("macro_f1", m["macro_f1"], sq.f1_score(gold, pred, average="macro")),
        ("weighted_f1", m["weighted_f1"], sq.f1_score(gold, pred, average="weighted")),
    ]
    by_type = sq.classification_report(gold, pred, output_dict=True, zero_division=0)
    pairs += [(f"f1 {kind}", scores["f1"], by_type[kind]["f1-score"]) for kind, scores in split["per_type"].items()]
    worst = show(f"CoNLL-2003 test: {len(rows)} sentences, model {model.name} (seqeval)", pairs)
    final = json.loads((model / "metrics.json").read_text())["splits"].get("test")
    if final:
        print(f"  finetune's own final f1 on the same test set: {final['f1']:.6f} (evaluate: {m['f1']:.6f})")
    t = split["truncation"]
    print(
        f"  windowed sentences {t['examples_windowed']} ({t['windows']} windows of {t['max_length']}, stride "
        f"{t['stride']}), words {t['words_total']}, words dropped {t['words_truncated']}"
    )
    print(f"  bertkit evaluate: {seconds:.1f} s wall, peak RSS {peak:.0f} MiB")
    return worst


def check_memory(model: Path) -> None:
    """Peak memory of `bertkit evaluate` on 872 vs 67,349 sentences (SST-2 dev vs train): predictions are reduced
    per batch and scored by count-keeping evaluators, so memory should grow far slower than the data."""
    small = evaluate(model, SST2 / "dev.tsv", OUT / "memory-dev", "--bootstrap", "1000")
    large = evaluate(model, SST2 / "train.tsv", OUT / "memory-train", "--bootstrap", "1000")
    print("\nMemory (peak RSS of the `bertkit evaluate` process, bootstrap 1000 included)")
    for name, (_report, rows, seconds, peak) in (("dev", small), ("train", large)):
        print(f"  SST-2 {name:<6} {len(rows):>7,} sentences: {peak:7.0f} MiB, {seconds:6.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sst2-model", type=Path, help="a `bertkit finetune` output folder trained on SST-2")
    parser.add_argument("--conll-model", type=Path, help="a `bertkit finetune` output folder trained on CoNLL-2003")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps when training here")
    parser.add_argument("--train-samples", type=int, default=8000, help="training examples when training here")
    parser.add_argument("--only", choices=("sst2", "conll"), help="check one dataset only")
    parser.add_argument("--retrain", action="store_true", help="train again even if a trained folder exists")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory on SST-2 train (67k)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    worst = 0.0
    if args.only in (None, "sst2"):
        model = args.sst2_model or train(
            "sst2", "classification/sst2.yaml", SST2, args.steps, args.train_samples, args.retrain
        )
        worst = max(worst, check_sst2(model))
        if args.memory:
            check_memory(model)
    if args.only in (None, "conll"):
        model = args.conll_model or train(
            "conll", "ner/conll2003.yaml", CONLL, args.steps, args.train_samples, args.retrain
        )
        worst = max(worst, check_conll(model))
    verdict = "EQUAL" if worst <= TOLERANCE else "DIFFERENT"
    print(f"\nLargest difference between reported and independently computed values: {worst:.1e} -> {verdict}")
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
