"""Entity-level NER scores, equal to seqeval's on the same word-level tags.

``mode="conlleval"`` reproduces ``seqeval.metrics.*_score(y_true, y_pred)`` (default mode);
``mode="strict"`` reproduces ``mode="strict", scheme=IOB2`` (or ``IOBES`` with ``scheme="bioes"``). Both are
always computed: the primary mode gives ``precision``/``recall``/``f1`` (micro), the macro and weighted
averages, ``per_type`` and the error breakdown; the other mode's micro scores are reported as
``strict_*`` or ``conlleval_*``. Averages follow seqeval: a type counts in the macro average when it occurs in
the gold tags or the predictions; precision, recall or F1 are 0 when undefined (seqeval would return NaN for
macro averages when no entity exists at all; we return 0). ``token_accuracy`` is seqeval's
``accuracy_score`` (share of words whose tag is right).

Scoring is per word: the task layer must map subword predictions back to words before calling ``add``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bertkit.errors import DataError, InputError
from bertkit.evaluation.base import Evaluator
from bertkit.evaluation.metrics.ner_chunks import MODES, STRICT_SCHEMES, Entity, check_tags, extract_entities
from bertkit.evaluation.metrics.ner_errors import ERROR_KINDS, OUTSIDE, classify_entities, describe, type_confusions
from bertkit.evaluation.results import ConfusionMatrix
from bertkit.evaluation.stats import CountRows

if TYPE_CHECKING:
    import numpy as np

    from bertkit.evaluation.bootstrap import MetricFn


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64), where=denominator != 0)


def _prf(tp: np.ndarray, pred: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    precision, recall = _divide(tp, pred), _divide(tp, gold)
    return precision, recall, _divide(2.0 * precision * recall, precision + recall)


def entity_metrics(sums: np.ndarray, n_types: int, other_mode: str) -> dict[str, np.ndarray]:
    """Columns: tp per type, predicted per type, gold per type, then the other mode's (tp, predicted, gold)."""
    import numpy as np

    t = n_types
    tp, pred, gold = sums[:, :t], sums[:, t : 2 * t], sums[:, 2 * t : 3 * t]
    out: dict[str, np.ndarray] = {}
    for key, value in zip(("precision", "recall", "f1"), _prf(tp.sum(1), pred.sum(1), gold.sum(1)), strict=True):
        out[key] = value
    present = (pred + gold) > 0
    n_present = np.maximum(present.sum(1), 1)
    per_type = dict(zip(("precision", "recall", "f1"), _prf(tp, pred, gold), strict=True))
    for key, value in per_type.items():
        out[f"macro_{key}"] = np.where(present, value, 0.0).sum(1) / n_present
    for key, value in per_type.items():
        out[f"weighted_{key}"] = _divide((value * gold).sum(1), gold.sum(1))
    other = _prf(sums[:, 3 * t], sums[:, 3 * t + 1], sums[:, 3 * t + 2])
    for key, value in zip(("precision", "recall", "f1"), other, strict=True):
        out[f"{other_mode}_{key}"] = value
    return out


class NerEvaluator(Evaluator):
    """Feed word-level gold and predicted tags sentence by sentence (``add``) or in batches (``add_batch``).

    Keeps per-sentence entity counts (deduplicated), the error breakdown, the type confusions and the
    ``worst_k`` sentences whose wrong entities were predicted most confidently (with ``confidences``, one
    probability per word for its predicted tag; an entity's confidence is the mean over its words) or,
    without confidences, the sentences with the most errors.
    """

    task = "token-classification"

    def __init__(self, *, mode: str = "conlleval", scheme: str = "iob2", worst_k: int = 10) -> None:
        super().__init__(worst_k=worst_k)
        if mode not in MODES:
            raise InputError(f"unknown NER scoring mode {mode!r}", hint=f"Use one of: {', '.join(MODES)}.")
        if scheme not in STRICT_SCHEMES:
            raise InputError(f"unknown tag scheme {scheme!r}", hint=f"Use one of: {', '.join(STRICT_SCHEMES)}.")
        self.mode, self.scheme = mode, scheme
        self.other_mode = "strict" if mode == "conlleval" else "conlleval"
        self._rows = CountRows()
        self._types: set[str] = set()
        self._breakdown: Counter[str] = Counter()
        self._confusions: Counter[tuple[str, str]] = Counter()
        self._tokens_correct = 0
        self._tokens = 0

    @property
    def n_examples(self) -> int:
        return self._rows.n

    def add(
        self,
        gold_tags: Sequence[str],
        pred_tags: Sequence[str],
        *,
        words: Sequence[str] | None = None,
        confidences: Sequence[float] | None = None,
        example_id: Any = None,
    ) -> None:
        """Score one sentence. ``words`` and ``example_id`` are kept only if it becomes a worst error."""
        index = self._rows.n
        where = f"sentence {example_id if example_id is not None else index}"
        if len(gold_tags) != len(pred_tags):
            raise DataError(f"{where}: {len(gold_tags)} gold tags but {len(pred_tags)} predicted tags")
        for name, values in (("words", words), ("confidences", confidences)):
            if values is not None and len(values) != len(gold_tags):
                raise DataError(f"{where}: {len(gold_tags)} tags but {len(values)} {name}")
        for tags, side in ((gold_tags, "gold"), (pred_tags, "predicted")):
            check_tags(tags, f"{where} ({side})", STRICT_SCHEMES[self.scheme] - {"O"})
        gold = extract_entities(gold_tags, self.mode, self.scheme)
        pred = extract_entities(pred_tags, self.mode, self.scheme)
        other_gold = extract_entities(gold_tags, self.other_mode, self.scheme)
        other_pred = extract_entities(pred_tags, self.other_mode, self.scheme)
        self._count(gold, pred, other_gold, other_pred)
        self._tokens += len(gold_tags)
        self._tokens_correct += sum(g == p for g, p in zip(gold_tags, pred_tags, strict=False))
        classified = classify_entities(gold, pred)
        self._breakdown.update(kind for kind, _, _ in classified)
        errors = [item for item in classified if item[0] != "correct"]
        self._confusions.update(type_confusions(gold, pred))
        if errors:
            self._offer_worst(errors, words, confidences, example_id if example_id is not None else index)

    def _count(self, gold: list[Entity], pred: list[Entity], other_gold: list[Entity], other_pred: list[Entity]):
        row: Counter[str] = Counter()
        gold_set = set(gold)
        for e in gold:
            row[f"gold\t{e.type}"] += 1
        for e in pred:
            row[f"pred\t{e.type}"] += 1
            if e in gold_set:
                row[f"tp\t{e.type}"] += 1
        row["other\ttp"] = len(set(other_gold) & set(other_pred))
        row["other\tpred"], row["other\tgold"] = len(other_pred), len(other_gold)
        self._types.update(e.type for e in (*gold, *pred))
        self._rows.add(row)

    def _offer_worst(self, errors, words, confidences, example_id) -> None:
        def entity_confidence(entity: Entity | None) -> float:
            if entity is None or confidences is None:
                return 0.0
            span = [float(c) for c in confidences[entity.start : entity.end]]
            return sum(span) / len(span)

        if confidences is not None:
            score = max(entity_confidence(p) for _, _, p in errors)
        else:
            score = float(len(errors))
        if not self.worst.would_keep(score):
            return
        entry = {
            "id": example_id,
            "text": " ".join(words) if words is not None else None,
            "n_errors": len(errors),
            "confidence": score if confidences is not None else None,
            "errors": [
                {"kind": kind, "gold": describe(g, words), "pred": describe(p, words), "confidence": None}
                for kind, g, p in errors
            ],
        }
        if confidences is not None:
            for item, (_, _, p) in zip(entry["errors"], errors, strict=True):
                item["confidence"] = entity_confidence(p) if p is not None else None
        self.worst.offer(score, entry)

    def add_batch(
        self,
        gold: Sequence[Sequence[str]],
        pred: Sequence[Sequence[str]],
        *,
        words: Sequence[Sequence[str]] | None = None,
        confidences: Sequence[Sequence[float]] | None = None,
        ids: Sequence[Any] | None = None,
    ) -> None:
        if len(gold) != len(pred):
            raise DataError(f"got {len(gold)} gold sentences but {len(pred)} predicted sentences in one batch")
        for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
            self.add(
                g,
                p,
                words=words[i] if words is not None else None,
                confidences=confidences[i] if confidences is not None else None,
                example_id=ids[i] if ids is not None else None,
            )

    @property
    def types(self) -> list[str]:
        return sorted(self._types)

    def _columns(self) -> list[str]:
        types = self.types
        blocks = [[f"{kind}\t{t}" for t in types] for kind in ("tp", "pred", "gold")]
        return [*blocks[0], *blocks[1], *blocks[2], "other\ttp", "other\tpred", "other\tgold"]

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        return self._rows.arrays(self._columns())

    def metric_fn(self) -> MetricFn:
        n_types, other = len(self._types), self.other_mode
        return lambda sums: entity_metrics(sums, n_types, other)

    def _plain_metrics(self) -> dict[str, float]:
        return {"token_accuracy": self._token_accuracy()}

    def _token_accuracy(self) -> float:
        return self._tokens_correct / self._tokens if self._tokens else 0.0

    def _extras(self) -> dict[str, Any]:
        return {
            "per_type": self._per_type(),
            "confusion_matrix": self._confusion_matrix(),
            "error_breakdown": {"correct": self._breakdown["correct"], **{k: self._breakdown[k] for k in ERROR_KINDS}},
            "details": {
                "mode": self.mode,
                "scheme": self.scheme,
                "token_accuracy": self._token_accuracy(),
                "n_words": self._tokens,
                "confusion_matrix": "entities matched by span; O = no entity with that span on that side",
            },
        }

    def _per_type(self) -> dict[str, dict[str, float]]:
        rows, weights = self.statistics()
        sums = weights.astype(float) @ rows
        t = len(self._types)
        precision, recall, f1 = _prf(sums[:t], sums[t : 2 * t], sums[2 * t : 3 * t])
        return {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(sums[2 * t + i]),
            }
            for i, name in enumerate(self.types)
        }

    def _confusion_matrix(self) -> ConfusionMatrix:
        labels = [*self.types, OUTSIDE]
        matrix = [[self._confusions[(g, p)] for p in labels] for g in labels]
        return ConfusionMatrix(labels, matrix)


def ner_metrics(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], *, mode: str = "conlleval", scheme: str = "iob2"
) -> dict[str, float]:
    """One-shot point estimates for in-memory tag sequences (see ``NerEvaluator`` for streaming)."""
    evaluator = NerEvaluator(mode=mode, scheme=scheme, worst_k=0)
    evaluator.add_batch(gold, pred)
    return evaluator.metrics()
