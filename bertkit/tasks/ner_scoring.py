"""Word-level NER scoring for token classification, and the tag-column helpers it needs.

:func:`entity_scores` gives the numbers ``seqeval.metrics`` gives in its default mode (entity-level micro
precision/recall/F1, per-type F1, and word accuracy) for the same word-level tag sequences; entities are decoded by
:func:`bertkit.tasks.entities.tags_to_spans`, the decoder ``bertkit ner`` uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bertkit.errors import BertkitError, DataError
from bertkit.tasks.entities import tags_to_spans

TAGS = "tags"


def tag_ids_of(dataset: Any, names: Sequence[str], split: str) -> list[list[int]]:
    """The ``tags`` column as ids into ``names``: ClassLabel ids (of any name list), tag names, or plain ids."""
    from bertkit.data.labels import class_label_names

    column = dataset[TAGS]
    own = class_label_names(dataset.features[TAGS])
    if own is not None and list(own) == list(names):
        return [list(tags) for tags in column]
    ids = {name: i for i, name in enumerate(names)}

    def one(tag: Any, row: int) -> int:
        if own is not None and isinstance(tag, int) and 0 <= tag < len(own):
            tag = own[tag]
        if isinstance(tag, int) and own is None and 0 <= tag < len(names):
            return tag
        if str(tag) in ids:
            return ids[str(tag)]
        raise DataError(
            f"{split} split, sentence {row + 1}: tag {tag!r} is not one of the {len(names)} tags ({', '.join(names)})",
            hint="Add it to task.labels, or fix the data.",
        )

    return [[one(tag, row) for tag in tags] for row, tags in enumerate(column)]


def locate_sentence(splits: Any, split: str, row: int, tokens: Sequence[str]) -> str:
    """``file:line`` of a sentence, found by re-reading its local file (only on the error path); else its number."""
    source = (getattr(splits, "sources", None) or {}).get(split)
    fallback = f"sentence {row + 1}" + (f" of {source}" if source else "")
    if not source or not Path(source).is_file():
        return fallback
    from bertkit.data.readers import read_local

    try:
        table = read_local(Path(source), "auto", "token-classification", None)
        column = table.dataset["tokens"]
    except (BertkitError, KeyError, ValueError):
        return fallback
    wanted = [str(t) for t in tokens]
    for index, found in enumerate(column):
        words = found.split() if isinstance(found, str) else [str(t) for t in found or []]
        if words == wanted:
            return table.where(index)
    return fallback


def entity_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *, scheme: str, types: Sequence[str] = ()
) -> dict[str, float]:
    """Entity-level micro precision/recall/F1, per-type F1 (``f1_<TYPE>``, for ``types`` and every type seen) and
    word accuracy, as seqeval computes them (default mode) on word-level tag sequences; 0 where undefined."""
    true_counts: Counter[str] = Counter()
    pred_counts: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    correct = words = 0
    for gold_tags, pred_tags in zip(gold, predicted, strict=True):
        if len(gold_tags) != len(pred_tags):
            raise ValueError(f"a sentence has {len(gold_tags)} gold tags but {len(pred_tags)} predicted tags")
        true_spans = {(s.type, s.start, s.end) for s in tags_to_spans(gold_tags, scheme=scheme)}
        pred_spans = {(s.type, s.start, s.end) for s in tags_to_spans(pred_tags, scheme=scheme)}
        true_counts.update(kind for kind, _, _ in true_spans)
        pred_counts.update(kind for kind, _, _ in pred_spans)
        hits.update(kind for kind, _, _ in true_spans & pred_spans)
        correct += sum(g == p for g, p in zip(gold_tags, pred_tags, strict=True))
        words += len(gold_tags)
    precision, recall, f1 = prf(sum(hits.values()), sum(pred_counts.values()), sum(true_counts.values()))
    scores = {"precision": precision, "recall": recall, "f1": f1, "accuracy": correct / words if words else 0.0}
    for kind in sorted(set(types) | set(true_counts) | set(pred_counts)):
        scores[f"f1_{kind}"] = prf(hits[kind], pred_counts[kind], true_counts[kind])[2]
    return scores


def prf(hits: int, predicted: int, true: int) -> tuple[float, float, float]:
    precision = hits / predicted if predicted else 0.0
    recall = hits / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
