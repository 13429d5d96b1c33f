"""Text classification: one label per text or sentence pair, scored as ``transformers.pipeline`` scores it.

A classifier sees one window of ``max_length`` tokens, so longer inputs are truncated (there is no sound way
to combine windows into one label). That is never silent: every result says whether its input was truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bertkit.errors import InputError
from bertkit.inference.engine import InferenceEngine

SOFTMAX, SIGMOID, IDENTITY = "softmax", "sigmoid", "none"


@dataclass
class ClassificationResult:
    text: str
    text_pair: str | None
    label: str
    score: float
    scores: dict[str, float] | None  # every label's score, highest first (only when asked for)
    truncated: bool  # the input was longer than the model's window; only its beginning was classified


def score_function(config: Any) -> str:
    """The function the text-classification pipeline applies to the logits by default (same precedence)."""
    problem = getattr(config, "problem_type", None)
    if problem == "regression":
        return IDENTITY
    if problem == "multi_label_classification" or config.num_labels == 1:
        return SIGMOID
    if problem == "single_label_classification" or config.num_labels > 1:
        return SOFTMAX
    return IDENTITY


def resolve_label_names(loaded: Any, label_names: Sequence[str] | None) -> list[str]:
    """One name per logit: the model's ``id2label``, or ``label_names`` (checked against ``num_labels``)."""
    count = int(loaded.config.num_labels)
    own = loaded.id2label
    if label_names is None:
        return [own.get(i, f"LABEL_{i}") for i in range(count)]
    names = [str(n).strip() for n in label_names]
    current = ", ".join(own.get(i, f"LABEL_{i}") for i in range(count))
    if len(names) != count:
        raise InputError(
            f"--labels gives {len(names)} name(s) but model '{loaded.source.name}' has {count} label(s) ({current})",
            hint=f"Give exactly {count} comma-separated names, in label-id order.",
        )
    if any(not n for n in names):
        raise InputError("--labels contains an empty name", hint="Write the names without empty items, e.g. neg,pos.")
    if len(set(names)) != len(names):
        raise InputError(f"--labels repeats a name ({', '.join(names)}): each label needs its own name")
    return names


def encode_inputs(loaded: Any, texts: Sequence[str], pairs: Sequence[str] | None) -> tuple[list[dict], list[bool]]:
    """Token ids per input, cut to the model window where needed, and which inputs were cut.

    Everything is tokenized in one fast batch call without truncation first; only the inputs found too long
    are tokenized again with truncation (``longest_first`` for pairs, as transformers does).
    """
    from bertkit.modeling.loading import quiet_transformers

    tokenizer = loaded.tokenizer
    limit = int(loaded.max_length)
    text_list, pair_list = list(texts), list(pairs) if pairs is not None else None
    # quiet: the "sequence is longer than the maximum" log line; truncation is reported per result instead.
    with quiet_transformers():
        encoded = tokenizer(text_list, pair_list, truncation=False, return_attention_mask=False)
        keys = [k for k in ("input_ids", "token_type_ids") if k in encoded]
        features = [{k: encoded[k][i] for k in keys} for i in range(len(text_list))]
        too_long = [i for i, f in enumerate(features) if len(f["input_ids"]) > limit]
        if too_long:
            again = tokenizer(
                [text_list[i] for i in too_long],
                [pair_list[i] for i in too_long] if pair_list is not None else None,
                truncation=True,
                max_length=limit,
                return_attention_mask=False,
            )
            for row, i in enumerate(too_long):
                features[i] = {k: again[k][row] for k in keys}
    cut = set(too_long)
    return features, [i in cut for i in range(len(features))]


def make_reducer(function: str):
    def reduce(outputs: Any, batch: dict[str, Any], ids: Sequence[int]) -> list[list[float]]:
        logits = outputs.logits.float()  # scores in fp32 whatever the compute precision, like the pipeline
        if function == SOFTMAX:
            logits = logits.softmax(dim=-1)
        elif function == SIGMOID:
            logits = logits.sigmoid()
        return logits.cpu().tolist()

    return reduce


def build_result(text: str, pair: str | None, row: list[float], names: list[str], all_scores: bool, cut: bool):
    best = max(range(len(row)), key=row.__getitem__)  # first maximum, as numpy's argmax
    scores = None
    if all_scores:
        ranked = sorted(range(len(row)), key=lambda i: -row[i])
        scores = {names[i]: float(row[i]) for i in ranked}
    return ClassificationResult(text, pair, names[best], float(row[best]), scores, cut)


def classify(
    loaded: Any,
    texts: Sequence[str],
    pairs: Sequence[str] | None = None,
    *,
    all_scores: bool = False,
    label_names: Sequence[str] | None = None,
    batch_size: int = 32,
) -> list[ClassificationResult]:
    """Classify ``texts`` (with ``pairs`` as second segments), results in input order.

    Scores follow the text-classification pipeline: softmax over labels, sigmoid for multi-label models or a
    single label, the raw value for regression. ``label_names`` renames the labels (one per label, in id order).
    """
    if pairs is not None and len(pairs) != len(texts):
        raise InputError(
            f"got {len(texts)} text(s) but {len(pairs)} pair text(s): each text needs exactly one pair",
            hint="Give one --pair per text, in the same order (or --pair-column for a file).",
        )
    names = resolve_label_names(loaded, label_names)
    if not texts:
        return []
    features, truncated = encode_inputs(loaded, texts, pairs)
    rows = InferenceEngine(loaded, batch_size=batch_size).run(features, make_reducer(score_function(loaded.config)))
    pair_list = list(pairs) if pairs is not None else [None] * len(texts)
    return [
        build_result(text, pair, row, names, all_scores, cut)
        for text, pair, row, cut in zip(texts, pair_list, rows, truncated, strict=True)
    ]
