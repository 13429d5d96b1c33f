"""Entities from tag sequences, exactly as seqeval finds them.

Two modes:

- ``conlleval`` (seqeval's default, the conlleval.pl rules): lenient chunking. An ``I-X`` after ``O`` or after
  another type starts an entity, a change of type ends one; ``E-``/``S-`` tags are understood too.
- ``strict`` (seqeval ``mode='strict'``): only well-formed entities count. IOB2: ``B-X`` followed by ``I-X``
  tags; an ``I-X`` without a ``B-X`` before it is no entity. BIOES: ``S-X``, or ``B-X (I-X)* E-X``; a chunk
  that does not end in ``E-``/``S-`` is no entity.

Entities are ``(type, start, end)`` with ``end`` exclusive, per sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from bertkit.errors import DataError

MODES = ("conlleval", "strict")
STRICT_SCHEMES = {"iob2": frozenset("BIO"), "bioes": frozenset("BIOES")}


class Entity(NamedTuple):
    type: str
    start: int
    end: int  # exclusive

    def overlaps(self, other: Entity) -> bool:
        return self.start < other.end and other.start < self.end


def check_tags(tags: Sequence[str], where: str, allowed_prefixes: frozenset[str] = frozenset("BIES")) -> None:
    """Every tag is ``O`` or ``<prefix>-<type>``; anything else is a data error naming the position."""
    for i, tag in enumerate(tags):
        if tag == "O":
            continue
        if not isinstance(tag, str) or len(tag) < 3 or tag[1] != "-" or tag[0] not in allowed_prefixes:
            prefixes = "/".join(f"{p}-" for p in sorted(allowed_prefixes, key="BIES".index))
            scheme_hint = " E-/S- tags need the bioes tag scheme." if str(tag)[:1] in ("E", "S") else ""
            raise DataError(
                f"invalid tag {tag!r} at word {i} of {where}",
                hint=f"Tags must be 'O' or {prefixes} followed by an entity type, e.g. 'B-PER'.{scheme_hint}",
            )


def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval.metrics.sequence_labeling.end_of_chunk
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval.metrics.sequence_labeling.start_of_chunk
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def conlleval_entities(tags: Sequence[str]) -> list[Entity]:
    """Entities of one sentence under the conlleval rules (seqeval's default mode)."""
    entities: list[Entity] = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, chunk in enumerate([*tags, "O"]):
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            entities.append(Entity(prev_type, begin, i))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return entities


def _strict_type(tag: str) -> str:
    return tag[1:].strip("-") or "_"


def _continues(scheme: str, prev: str, tag: str) -> bool:
    """Whether ``tag`` continues the chunk whose last tag is ``prev`` (same type, allowed prefix pair)."""
    if _strict_type(prev) != _strict_type(tag):
        return False
    if scheme == "iob2":
        return prev[0] in "BI" and tag[0] == "I"
    return prev[0] in "BI" and tag[0] in "IE"


def strict_entities(tags: Sequence[str], scheme: str = "iob2") -> list[Entity]:
    """Entities of one sentence under seqeval's strict mode for ``scheme`` (``iob2`` or ``bioes``)."""
    starts = "B" if scheme == "iob2" else "BS"
    entities: list[Entity] = []
    i = 0
    while i < len(tags):
        if tags[i][0] not in starts:
            i += 1
            continue
        end = i + 1
        while end < len(tags) and _continues(scheme, tags[end - 1], tags[end]):
            end += 1
        # IOB2 chunks always end well; BIOES chunks must close with E- or S-.
        if scheme == "iob2" or tags[end - 1][0] in "ES":
            entities.append(Entity(_strict_type(tags[i]), i, end))
        i = end
    return entities


def extract_entities(tags: Sequence[str], mode: str, scheme: str = "iob2") -> list[Entity]:
    return conlleval_entities(tags) if mode == "conlleval" else strict_entities(tags, scheme)
