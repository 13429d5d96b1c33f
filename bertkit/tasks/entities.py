"""From token predictions to entities: subword -> word aggregation, and tag sequences -> spans (IOB1/IOB2/BIOES).

Used by ``bertkit ner`` (inference), by evaluation (entity-level scoring from word tags) and by anything that
turns a tag sequence into entity spans.

Grouping matches ``transformers.pipeline("token-classification", aggregation_strategy=...)`` for ``first``,
``average`` and ``max``: a word takes the label of its first subword (``first``), of its subwords' mean label
distribution (``average``) or of its most confident subword (``max``); its score is that label's probability.
Adjacent words then form an entity when their types match and the later word's tag does not begin a new entity
(B-/S-, or the previous one ended with E-/S-). An entity's score is the mean of its words' scores, and its
``start``/``end`` are character offsets into the text, ``text`` the exact slice of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bertkit.errors import InputError

AGGREGATIONS = ("first", "average", "max")
SCHEMES = ("IOB1", "IOB2", "BIOES")
OUTSIDE = "O"
# BILOU spells BIOES' E- and S- as L- and U-.
PREFIXES = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}


@dataclass
class Entity:
    """An entity in a text: ``text[start:end] == entity.text``; ``score`` is in [0, 1]."""

    text: str
    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class TagSpan:
    """Items (words or tokens) ``[start, end)`` of one entity of type ``type``."""

    type: str
    start: int
    end: int


@dataclass
class WordPrediction:
    """The label a word gets from its subwords: tokens ``[first_token, last_token]`` of the example."""

    word_id: int
    first_token: int
    last_token: int
    label_id: int
    score: float


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``; a tag with no prefix (``"PER"``) -> ``("", "PER")``.

    ``L-``/``U-`` (BILOU) read as ``E-``/``S-``; ``B_PER`` style separators are accepted.
    """
    if tag == OUTSIDE or not tag:
        return OUTSIDE, ""
    if len(tag) > 2 and tag[1] in "-_" and tag[0].upper() in PREFIXES:
        return PREFIXES[tag[0].upper()], tag[2:]
    return "", tag


def check_aggregation(aggregation: str) -> str:
    """``aggregation`` normalised, or ``InputError`` naming the choices."""
    name = (aggregation or "").strip().lower()
    if name not in AGGREGATIONS:
        raise InputError(f"unknown aggregation '{aggregation}'", hint=f"Choose one of: {', '.join(AGGREGATIONS)}.")
    return name


def detect_scheme(labels: Sequence[str]) -> str:
    """``BIOES`` if any label uses E-/S- (or L-/U-), else ``IOB2`` (decoded the same way as IOB1)."""
    return "BIOES" if any(split_tag(label)[0] in ("E", "S") for label in labels) else "IOB2"


def tags_to_spans(tags: Sequence[str], *, scheme: str = "IOB2", strict: bool = False) -> list[TagSpan]:
    """Entity spans of a tag sequence.

    Lenient (default, like seqeval's default mode and the transformers pipeline): B-/S- begin an entity, I-/E-
    continue one of the same type or else begin one, E-/S- end it, O ends it; a tag without prefix acts as I-.
    ``strict`` (IOB2/BIOES only) drops I-/E- tags that do not continue an entity and, for BIOES, entities
    that are not closed by E-.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tagging scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    strict = strict and scheme != "IOB1"
    spans: list[TagSpan] = []
    open_type: str | None = None
    open_start = 0

    def close(end: int, complete: bool) -> None:
        if open_type is not None and (complete or not (strict and scheme == "BIOES")):
            spans.append(TagSpan(open_type, open_start, end))

    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        continues = open_type == kind and prefix in ("I", "E", "")
        if prefix == OUTSIDE or (strict and prefix in ("I", "E") and not continues):
            close(i, False)
            open_type = None
            continue
        if not continues:
            close(i, False)
            open_type, open_start = kind, i
        if prefix in ("E", "S"):
            close(i + 1, True)
            open_type = None
    close(len(tags), False)
    return spans


def aggregate_words(token_probs: Any, word_ids: Sequence[int | None], aggregation: str = "first"):
    """One :class:`WordPrediction` per word, in text order, from per-token label probabilities.

    ``token_probs`` is a float array ``[n_tokens, n_labels]`` (numpy) for the example's tokens; rows that
    ``aggregation`` does not read may be NaN (``first`` reads only a word's first token). Tokens with no word id
    are skipped.
    """
    import numpy as np

    aggregation = check_aggregation(aggregation)
    words: list[WordPrediction] = []
    groups: list[list[int]] = []
    for t, word in enumerate(word_ids):
        if word is None:
            continue
        if groups and word_ids[groups[-1][-1]] == word and groups[-1][-1] == t - 1:
            groups[-1].append(t)
        else:
            groups.append([t])
    for tokens in groups:
        rows = token_probs[tokens]
        if aggregation == "first":
            probs = rows[0]
        elif aggregation == "average":
            probs = np.nanmean(rows, axis=0)
        else:
            probs = rows[int(np.nanargmax(np.nanmax(rows, axis=1)))]
        label = int(np.argmax(probs))
        words.append(WordPrediction(int(word_ids[tokens[0]]), tokens[0], tokens[-1], label, float(probs[label])))
    return words


def words_to_entities(
    text: str,
    offsets: Sequence[tuple[int, int]],
    words: Sequence[WordPrediction],
    id2label: dict[int, str],
    *,
    scheme: str | None = None,
) -> list[Entity]:
    """Group word predictions into entities with character offsets (``offsets`` are the example's tokens')."""
    tags = [id2label[w.label_id] for w in words]
    scheme = scheme or detect_scheme(list(id2label.values()))
    entities = []
    for span in tags_to_spans(tags, scheme=scheme):
        first, last = words[span.start], words[span.end - 1]
        start, end = offsets[first.first_token][0], offsets[last.last_token][1]
        score = sum(w.score for w in words[span.start : span.end]) / (span.end - span.start)
        entities.append(Entity(text[start:end], span.type, start, end, score))
    return entities
