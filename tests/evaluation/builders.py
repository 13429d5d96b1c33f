"""Small, deterministic evaluation results shared by the evaluation tests."""

from __future__ import annotations

import random

from bertkit.evaluation import (
    BootstrapSettings,
    ClassificationEvaluator,
    MlmEvaluator,
    NerEvaluator,
    QaEvaluator,
    TruncationStats,
)

FAST_BOOTSTRAP = BootstrapSettings(n_resamples=200, confidence=0.95, seed=0)
NER_TYPES = ("PER", "LOC", "ORG")


def classification_split(accuracy: float = 0.8, n: int = 300, seed: int = 0):
    rng = random.Random(seed)
    labels = ["negative", "neutral", "positive"]
    evaluator = ClassificationEvaluator(labels, worst_k=5)
    gold = [rng.randrange(3) for _ in range(n)]
    pred = [g if rng.random() < accuracy else (g + 1) % 3 for g in gold]
    confidences = [rng.random() for _ in range(n)]
    texts = [f"text number {i} with [MASK] and <b>markup</b> | pipe" for i in range(n)]
    evaluator.add_batch(gold, pred, confidences=confidences, texts=texts)
    truncation = TruncationStats(
        n_examples=n, examples_truncated=7, tokens_total=9000, tokens_truncated=120, max_length=64
    )
    return evaluator.result(bootstrap=FAST_BOOTSTRAP, truncation=truncation)


def ner_sentence(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    words, gold = [], []
    for _ in range(rng.randint(2, 5)):
        if rng.random() < 0.5:
            kind, length = rng.choice(NER_TYPES), rng.randint(1, 3)
            gold += [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)
            words += [f"{kind.lower()}{i}" for i in range(length)]
        else:
            gold.append("O")
            words.append("word")
    pred = [t if rng.random() < 0.85 else rng.choice(["O", "B-PER", "I-LOC", "B-ORG"]) for t in gold]
    return words, gold, pred


def ner_split(seed: int = 0, n: int = 120):
    rng = random.Random(seed)
    evaluator = NerEvaluator(worst_k=5)
    for i in range(n):
        words, gold, pred = ner_sentence(rng)
        evaluator.add(gold, pred, words=words, confidences=[rng.random() for _ in words], example_id=f"s{i}")
    truncation = TruncationStats(n_examples=n, examples_windowed=3, windows=125, words_total=900, words_truncated=0)
    return evaluator.result(bootstrap=FAST_BOOTSTRAP, truncation=truncation)


def qa_split(seed: int = 0, n: int = 100):
    rng = random.Random(seed)
    evaluator = QaEvaluator(version_2=True, worst_k=5)
    for i in range(n):
        answerable = rng.random() < 0.7
        gold = ["the Eiffel Tower", "Eiffel Tower"] if answerable else []
        pred = rng.choice(["Eiffel Tower", "the tower", "", "Paris"])
        evaluator.add(pred, gold, question_id=f"q{i}", question="Where?", context="In Paris.", confidence=rng.random())
    return evaluator.result(bootstrap=FAST_BOOTSTRAP)


def mlm_split(seed: int = 0, n: int = 50):
    rng = random.Random(seed)
    evaluator = MlmEvaluator()
    masked = [rng.randint(1, 10) for _ in range(n)]
    evaluator.add_batch([m * rng.uniform(1, 3) for m in masked], masked, [rng.randint(0, m) for m in masked])
    return evaluator.result(bootstrap=FAST_BOOTSTRAP)


def training_log_records(steps: int = 200) -> list[dict]:
    records = []
    for step in range(10, steps + 1, 10):
        lr = 5e-5 * (1 - step / 250)
        records.append({"step": step, "epoch": step / 100, "loss": 1.0 / step**0.3, "learning_rate": lr})
        if step % 50 == 0:
            records.append({"step": step, "eval_loss": 0.5, "eval_accuracy": 0.7 + step / 2000, "eval_runtime": 3.2})
    return records
