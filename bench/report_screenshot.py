"""Build realistic evaluation reports from synthetic predictions and screenshot report.html in headless Chromium.

    flock /tmp/bertkit-bench.lock python bench/report_screenshot.py

Writes bench/out/report-<task>/report.{json,md,html} and bench/out/report-<task>.png, prints the PNG paths and
how long building each report took (bootstrap included). Needs /usr/bin/chromium (Debian: apt-get install -y
chromium); without it the reports are still written and the screenshot step is reported as skipped.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bertkit.evaluation import (
    BootstrapSettings,
    ClassificationEvaluator,
    EvalReport,
    NerEvaluator,
    QaEvaluator,
    TruncationStats,
    write_report,
)
from bertkit.evaluation.present import ordered_metrics

OUT = Path(__file__).resolve().parent / "out"
BOOTSTRAP = BootstrapSettings(n_resamples=1000, confidence=0.95, seed=0)
WORDS = "the film was a quiet and sharp story about loss with moments of real wit though it drags late".split()
NAMES = {"PER": ["Ada Lovelace", "Alan Turing", "Grace Hopper"], "LOC": ["Paris", "New York", "Lake Geneva"]}
NAMES |= {"ORG": ["Acme Corp", "United Nations", "Bell Labs"], "MISC": ["French", "Olympics", "Nobel Prize"]}


def training_log(steps: int, rng: random.Random, eval_keys: tuple[str, ...]) -> list[dict]:
    """A plausible fine-tuning log: warmup then linear decay, noisy decreasing loss, eval every 100 steps."""
    records = []
    for step in range(10, steps + 1, 10):
        lr = 5e-5 * min(step / 60, (steps - step) / (steps - 60))
        loss = 0.25 + 0.9 * math.exp(-step / 180) + rng.gauss(0, 0.04)
        records.append(
            {"step": step, "epoch": round(step / (steps / 3), 3), "loss": round(loss, 4), "learning_rate": lr}
        )
        if step % 100 == 0:
            quality = 1 - 0.45 * math.exp(-step / 250)
            ev = {
                "step": step,
                "epoch": round(step / (steps / 3), 3),
                "eval_loss": round(0.3 + 0.8 * math.exp(-step / 220), 4),
            }
            ev |= {key: round(quality - 0.04 * i + rng.gauss(0, 0.005), 4) for i, key in enumerate(eval_keys)}
            records.append(ev)
    return records


def classification_report(rng: random.Random) -> EvalReport:
    labels = ["negative", "neutral", "positive"]
    evaluator = ClassificationEvaluator(labels)
    confusion_rate = {0: 0.10, 1: 0.32, 2: 0.08}
    for batch in range(40):
        gold, logits, texts = [], [], []
        for _ in range(50):
            g = rng.choices([0, 1, 2], weights=[0.4, 0.2, 0.4])[0]
            pred = (
                g
                if rng.random() > confusion_rate[g]
                else rng.choice([c for c in range(3) if c != g and abs(c - g) == 1])
            )
            row = [rng.gauss(0, 1) for _ in range(3)]
            row[pred] += rng.uniform(1.0, 5.0)
            gold.append(g)
            logits.append(row)
            texts.append(" ".join(rng.choices(WORDS, k=rng.randint(6, 18))).capitalize() + ".")
        evaluator.add_logits(logits, gold, texts=texts, ids=[f"dev-{batch * 50 + i}" for i in range(50)])
    truncation = TruncationStats(
        n_examples=2000, examples_truncated=37, tokens_total=61_480, tokens_truncated=1_294, max_length=128
    )
    split = evaluator.result(bootstrap=BOOTSTRAP, truncation=truncation)
    log = training_log(900, rng, ("eval_accuracy", "eval_macro_f1"))
    return EvalReport(
        task="text-classification",
        splits={"validation": split},
        model={"name": "outputs/sst3-minilm"},
        data={"source": "data/sentiment3/dev.tsv"},
        training_log=log,
    )


def _sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    words, tags = [], []
    for _ in range(rng.randint(3, 6)):
        if rng.random() < 0.45:
            kind = rng.choice(list(NAMES))
            parts = rng.choice(NAMES[kind]).split()
            words += parts
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(parts) - 1)
        else:
            chunk = rng.choices(WORDS, k=rng.randint(1, 4))
            words += chunk
            tags += ["O"] * len(chunk)
    return words, tags


def _corrupt(tags: list[str], rng: random.Random) -> list[str]:
    pred = list(tags)
    starts = [i for i, t in enumerate(tags) if t.startswith("B-")]
    for i in starts:
        r = rng.random()
        end = i + 1
        while end < len(tags) and tags[end].startswith("I-"):
            end += 1
        if r < 0.05:  # wrong type
            other = rng.choice([k for k in NAMES if k != tags[i][2:]])
            pred[i:end] = [f"B-{other}"] + [f"I-{other}"] * (end - i - 1)
        elif r < 0.09 and end - i > 1:  # boundary: drop the last word
            pred[end - 1] = "O"
        elif r < 0.12:  # missed
            pred[i:end] = ["O"] * (end - i)
    for i, t in enumerate(tags):
        if t == "O" and rng.random() < 0.015:  # spurious
            pred[i] = "B-" + rng.choice(list(NAMES))
    return pred


def ner_report(rng: random.Random) -> EvalReport:
    evaluator = NerEvaluator(mode="conlleval", scheme="iob2")
    words_total = 0
    for i in range(1500):
        words, gold = _sentence(rng)
        pred = _corrupt(gold, rng)
        confidences = [rng.uniform(0.5, 1.0) if p != "O" else rng.uniform(0.8, 1.0) for p in pred]
        evaluator.add(gold, pred, words=words, confidences=confidences, example_id=f"s{i}")
        words_total += len(words)
    truncation = TruncationStats(
        n_examples=1500,
        examples_windowed=12,
        windows=1527,
        words_total=words_total,
        words_truncated=0,
        max_length=256,
        stride=64,
    )
    split = evaluator.result(bootstrap=BOOTSTRAP, truncation=truncation)
    log = training_log(600, rng, ("eval_f1", "eval_precision", "eval_recall"))
    return EvalReport(
        task="token-classification",
        splits={"test": split},
        model={"name": "outputs/conll-minilm"},
        data={"source": "conll2003/test.txt"},
        training_log=log,
    )


def qa_report(rng: random.Random) -> EvalReport:
    evaluator = QaEvaluator(version_2=True)
    for i in range(3000):
        answerable = rng.random() < 0.6
        answer = " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
        gold = [answer, "the " + answer] if answerable else []
        r = rng.random()
        pred = answer if r < 0.7 else (answer.split()[0] if r < 0.85 else "")
        evaluator.add(
            pred if answerable else ("" if r < 0.75 else answer),
            gold,
            question_id=f"q{i}",
            question=f"What was {answer}?",
            confidence=rng.random(),
        )
    truncation = TruncationStats(n_examples=3000, examples_windowed=214, windows=3391, max_length=384, stride=128)
    split = evaluator.result(bootstrap=BOOTSTRAP, truncation=truncation)
    return EvalReport(
        task="question-answering",
        splits={"validation": split},
        model={"name": "outputs/squad2-minilm"},
        data={"source": "squad_v2"},
    )


def screenshot(html: Path, png: Path, height: int) -> str:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        return "skipped (no /usr/bin/chromium; apt-get install -y chromium)"
    with tempfile.TemporaryDirectory(prefix="bertkit-chromium-") as profile:
        command = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size=1280,{height}",
            "--hide-scrollbars", html.resolve().as_uri(),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not png.exists():
        return f"failed (exit {done.returncode}): {done.stderr.strip()[-400:]}"
    return str(png)


def main() -> int:
    height = int(sys.argv[1]) if len(sys.argv) > 1 else 2000  # window height in pixels
    rng = random.Random(1234)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in (("classification", classification_report), ("ner", ner_report), ("qa", qa_report)):
        started = time.perf_counter()
        report = build(rng)
        built = time.perf_counter() - started
        paths = write_report(report, OUT / f"report-{name}")
        sizes = ", ".join(f"{p.name} {os.path.getsize(p) / 1024:.0f} KiB" for p in paths.values())
        split_name, split = next(iter(report.splits.items()))
        headline = ordered_metrics(split)[0]
        ci = split.confidence_intervals[headline]
        print(
            f"{name}: {split.n_examples} examples, built in {built:.2f}s with {BOOTSTRAP.n_resamples} resamples; "
            f"{split_name} {headline}={split.metrics[headline]:.4f} [{ci.low:.4f}, {ci.high:.4f}]; {sizes}"
        )
        print(f"  screenshot: {screenshot(paths['html'], OUT / f'report-{name}.png', height)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
