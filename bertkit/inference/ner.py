"""Named-entity recognition on texts of any length: overlapping windows, merged token predictions, word entities.

Each text is tokenized once and cut into windows (:func:`bertkit.tasks.windows.token_windows`); every token's
label distribution comes from the one window where it has the most context; words are labelled from their
subwords and grouped into entities (:mod:`bertkit.tasks.entities`). For texts that fit one window the entities,
offsets and scores are those of ``transformers.pipeline("token-classification", aggregation_strategy=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import InputError
from bertkit.inference.engine import InferenceEngine
from bertkit.tasks.entities import SCHEMES, Entity, aggregate_words, check_aggregation, words_to_entities
from bertkit.tasks.windows import (
    TokenWindow,
    resolve_max_length,
    special_template,
    token_windows,
    tokenize_texts,
)

DEFAULT_STRIDE = 128  # tokens of overlap between windows (capped at half a window)


@dataclass
class NerResult:
    """Entities of one text (character offsets into ``text``); ``windows`` = model inputs the text needed."""

    text: str
    entities: list[Entity] = field(default_factory=list)
    windows: int = 1


def default_stride(room: int) -> int:
    return max(0, min(DEFAULT_STRIDE, room // 2))


def kept_positions(window: TokenWindow, aggregation: str) -> list[int]:
    """Window positions whose label distribution we keep: owned tokens (only word starts for ``first``)."""
    return [
        pos
        for pos, owned in enumerate(window.owned)
        if owned and window.word_ids[pos] is not None and (aggregation != "first" or window.word_start[pos])
    ]


def predict_token_probs(loaded: Any, windows: Sequence[TokenWindow], aggregation: str, batch_size: int):
    """Per window: (example token indices, their label probabilities), reduced right after each forward pass."""
    import numpy as np

    keep = [kept_positions(w, aggregation) for w in windows]

    def reduce(outputs: Any, batch: dict[str, Any], ids: Sequence[int]) -> list[Any]:
        rows = []
        for row, index in enumerate(ids):
            probs = outputs.logits[row, keep[index]].float().softmax(dim=-1).cpu().numpy()
            tokens = np.asarray([windows[index].token_index[p] for p in keep[index]], dtype=np.int64)
            rows.append((tokens, probs))
        return rows

    features = [w.model_inputs() for w in windows]
    return InferenceEngine(loaded, batch_size=batch_size).run(features, reduce)


def recognize_entities(
    loaded: Any,
    texts: Sequence[str],
    *,
    aggregation: str = "first",
    max_length: int | None = None,
    stride: int | None = None,
    scheme: str | None = None,
    batch_size: int = 32,
) -> list[NerResult]:
    """Word-level entities of every text, in input order.

    ``max_length``: window length in tokens (default: the model's maximum). ``stride``: overlap between windows
    in tokens (default: min(128, half the window)). ``scheme``: IOB1/IOB2/BIOES (default: read from the labels).
    """
    import numpy as np

    aggregation = check_aggregation(aggregation)
    if scheme is not None and scheme not in SCHEMES:
        raise InputError(f"unknown tagging scheme '{scheme}'", hint=f"Choose one of: {', '.join(SCHEMES)}.")
    tokenizer = loaded.tokenizer
    length = resolve_max_length(max_length, loaded.max_length)
    if stride is None:
        stride = default_stride(length - special_template(tokenizer).size)
    tokenized = tokenize_texts(tokenizer, texts)
    windows = token_windows(tokenized, tokenizer, max_length=length, stride=stride)
    reduced = predict_token_probs(loaded, windows, aggregation, batch_size)
    num_labels = int(loaded.model.config.num_labels)
    probs = [np.full((len(t), num_labels), np.nan, dtype=np.float32) for t in tokenized]
    counts = [0] * len(tokenized)
    for window, (tokens, rows) in zip(windows, reduced, strict=True):
        probs[window.example_index][tokens] = rows
        counts[window.example_index] += 1
    results = []
    for index, text in enumerate(tokenized):
        words = aggregate_words(probs[index], text.word_ids, aggregation)
        entities = words_to_entities(text.text, text.offsets, words, loaded.id2label, scheme=scheme)
        results.append(NerResult(text.text, entities, counts[index]))
    return results
