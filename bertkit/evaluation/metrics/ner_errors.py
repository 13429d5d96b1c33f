"""Where NER predictions go wrong: each predicted entity that is not an exact match gets exactly one kind.

Kinds (entities are (type, span) pairs of one sentence; "overlap" means sharing at least one word):

- ``correct``: a predicted entity with the same type and the same span as a gold entity.
- ``wrong_type``: not correct, and a gold entity has exactly the same span (so its type differs).
- ``wrong_boundary``: not correct, no gold entity has the same span, but an overlapping gold entity has the
  same type (the span is too long, too short or shifted).
- ``wrong_type_and_boundary``: overlaps gold entities, but none has the same span or the same type.
- ``spurious``: overlaps no gold entity at all.
- ``missed``: a gold entity that no predicted entity overlaps.

A gold entity overlapped by a wrong prediction is not counted again as missed: the prediction's error
explains it. Hence ``wrong_type + wrong_boundary + wrong_type_and_boundary + spurious`` equals the false
positives, and ``correct`` equals the true positives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bertkit.evaluation.metrics.ner_chunks import Entity

ERROR_KINDS = ("wrong_type", "wrong_boundary", "wrong_type_and_boundary", "spurious", "missed")
OUTSIDE = "O"


def _kind(pred: Entity, gold: Sequence[Entity], gold_set: set[Entity]) -> tuple[str, Entity | None]:
    if pred in gold_set:
        return "correct", pred
    overlapping = [g for g in gold if g.overlaps(pred)]
    if not overlapping:
        return "spurious", None
    for g in overlapping:
        if (g.start, g.end) == (pred.start, pred.end):
            return "wrong_type", g
    for g in overlapping:
        if g.type == pred.type:
            return "wrong_boundary", g
    return "wrong_type_and_boundary", overlapping[0]


def classify_entities(gold: Sequence[Entity], pred: Sequence[Entity]) -> list[tuple[str, Entity | None, Entity | None]]:
    """One ``(kind, gold_entity, pred_entity)`` per predicted entity and per missed gold entity."""
    gold_set = set(gold)
    out: list[tuple[str, Entity | None, Entity | None]] = []
    for p in pred:
        kind, g = _kind(p, gold, gold_set)
        out.append((kind, g, p))
    for g in gold:
        if not any(g.overlaps(p) for p in pred):
            out.append(("missed", g, None))
    return out


def error_counts(gold: Sequence[Entity], pred: Sequence[Entity]) -> Counter[str]:
    """Counts of every kind (``correct`` included) for one sentence."""
    return Counter(kind for kind, _, _ in classify_entities(gold, pred))


def type_confusions(gold: Sequence[Entity], pred: Sequence[Entity]) -> Counter[tuple[str, str]]:
    """(gold type, predicted type) pairs for entities matched by span; ``O`` stands for "no entity with this
    span" on either side (a missed or mis-bounded gold entity, a spurious or mis-bounded prediction)."""
    pred_by_span = {(p.start, p.end): p for p in pred}
    gold_spans = {(g.start, g.end) for g in gold}
    pairs: Counter[tuple[str, str]] = Counter()
    for g in gold:
        p = pred_by_span.get((g.start, g.end))
        pairs[(g.type, p.type if p else OUTSIDE)] += 1
    for p in pred:
        if (p.start, p.end) not in gold_spans:
            pairs[(OUTSIDE, p.type)] += 1
    return pairs


def describe(entity: Entity | None, words: Sequence[str] | None) -> dict[str, Any] | None:
    if entity is None:
        return None
    text = " ".join(words[entity.start : entity.end]) if words is not None else None
    return {"type": entity.type, "start": entity.start, "end": entity.end, "text": text}
