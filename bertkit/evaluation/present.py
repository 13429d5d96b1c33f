"""Presentation helpers shared by the Markdown, HTML and Rich renderers: ordering, numbers, sentences.

Everything here returns plain strings; each renderer escapes them for its own format.
"""

from __future__ import annotations

from typing import Any

from bertkit.evaluation.results import ConfidenceInterval, ConfusionMatrix, SplitResult, TruncationStats

HEADLINE = {
    "text-classification": ["accuracy", "macro_f1", "mcc", "weighted_f1", "macro_precision", "macro_recall"],
    "token-classification": ["f1", "precision", "recall", "macro_f1", "weighted_f1", "token_accuracy"],
    "question-answering": ["exact_match", "f1", "has_ans_exact_match", "has_ans_f1"],
    "masked-lm": ["perplexity", "loss", "accuracy"],
    "pretraining": ["perplexity", "loss", "accuracy"],
}
TEXT_CHARS = 240
MAX_MATRIX_LABELS = 40  # larger confusion matrices are shown for the most frequent gold labels only
ERROR_LABELS = {
    "correct": "correct",
    "wrong_type": "wrong type (same span)",
    "wrong_boundary": "wrong boundary (same type)",
    "wrong_type_and_boundary": "wrong type and boundary",
    "spurious": "spurious (no gold overlap)",
    "missed": "missed (no prediction overlap)",
}


def ordered_metrics(split: SplitResult) -> list[str]:
    """Headline metrics of the task first, then the rest in their original order."""
    first = [name for name in HEADLINE.get(split.task, []) if name in split.metrics]
    return first + [name for name in split.metrics if name not in first]


def fmt_value(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4f}"


def fmt_interval(ci: ConfidenceInterval | None) -> str:
    return "" if ci is None else f"{fmt_value(ci.low)} – {fmt_value(ci.high)}"


def confidence_label(split: SplitResult) -> str:
    if not split.bootstrap:
        return "CI"
    return f"{split.bootstrap.confidence:.0%} CI"


def bootstrap_note(split: SplitResult) -> str:
    b = split.bootstrap
    if not b:
        return "No confidence intervals (bootstrap disabled)."
    unit = {"token-classification": "sentences", "question-answering": "questions"}.get(split.task, "examples")
    return (
        f"{b.confidence:.0%} percentile bootstrap intervals: {b.n_resamples:,} resamples of the {unit} (seed {b.seed})."
    )


def _share(part: int, total: int | None) -> str:
    return f"{part:,} of {total:,} ({part / total:.1%})" if total else f"{part:,}"


def truncation_lines(t: TruncationStats | None) -> list[str]:
    """Plain sentences saying how much of the split the model did not see whole."""
    if t is None:
        return ["Truncation was not reported for this split."]
    at = f" at {t.max_length:,} tokens" if t.max_length else ""
    lines = [f"{_share(t.examples_truncated, t.n_examples)} examples truncated{at}."]
    if t.examples_windowed or t.windows:
        stride = f", stride {t.stride:,}" if t.stride is not None else ""
        windows = f" into {t.windows:,} windows" if t.windows is not None else ""
        lines.append(
            f"{_share(t.examples_windowed, t.n_examples)} examples split{windows}{stride} (windowed, nothing dropped)."
        )
    if t.words_truncated is not None:
        lines.append(f"{_share(t.words_truncated, t.words_total)} words dropped by truncation.")
    if t.tokens_truncated is not None:
        lines.append(f"{_share(t.tokens_truncated, t.tokens_total)} tokens dropped by truncation.")
    return lines


def clip(text: Any, limit: int = TEXT_CHARS) -> str:
    if text is None:
        return ""
    if isinstance(text, list | tuple):
        text = " ‖ ".join(str(part) for part in text)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entity(entity: dict[str, Any] | None) -> str:
    if not entity:
        return "∅"
    text = f" “{entity['text']}”" if entity.get("text") else f" [{entity['start']}:{entity['end']}]"
    return f"{entity['type']}{text}"


def _ner_errors(errors: list[dict[str, Any]]) -> str:
    parts = [f"{item['kind'].replace('_', ' ')}: {_entity(item['gold'])} → {_entity(item['pred'])}" for item in errors]
    return "; ".join(parts)


def worst_error_table(task: str, errors: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and string rows of the worst-errors table for ``task``."""
    rows: list[list[str]] = []
    for e in errors:
        confidence = fmt_value(e.get("confidence")) if e.get("confidence") is not None else "–"
        if task == "token-classification":
            rows.append(
                [str(e.get("id")), confidence, clip(_ner_errors(e.get("errors", [])), 400), clip(e.get("text"))]
            )
        elif task == "question-answering":
            gold = " | ".join(e.get("gold") or []) or "(no answer)"
            pred = e.get("pred") or "(no answer)"
            rows.append([str(e.get("id")), confidence, clip(e.get("text")), clip(pred, 120), clip(gold, 160)])
        else:
            rows.append([str(e.get("id")), confidence, str(e.get("gold")), str(e.get("pred")), clip(e.get("text"))])
    if task == "token-classification":
        return ["id", "confidence", "errors (gold → predicted)", "sentence"], rows
    if task == "question-answering":
        return ["id", "confidence", "question", "predicted", "gold answers"], rows
    return ["id", "confidence", "gold", "predicted", "text"], rows


def breakdown_rows(breakdown: dict[str, int]) -> list[list[str]]:
    """Kind, count and share of all errors (``correct`` is shown without a share)."""
    errors = sum(v for k, v in breakdown.items() if k != "correct")
    rows = []
    for kind, count in breakdown.items():
        share = "" if kind == "correct" else (f"{count / errors:.1%}" if errors else "0.0%")
        rows.append([ERROR_LABELS.get(kind, kind), f"{count:,}", share])
    return rows


def class_table(split: SplitResult) -> tuple[str, list[str], list[list[str]]]:
    """Title, headers and rows of the per-class (or per-type) table."""
    table = split.per_class if split.per_class is not None else split.per_type
    title = "Per class" if split.per_class is not None else "Per entity type"
    rows = [
        [name, fmt_value(v["precision"]), fmt_value(v["recall"]), fmt_value(v["f1"]), f"{int(v['support']):,}"]
        for name, v in (table or {}).items()
    ]
    return title, ["label" if split.per_class is not None else "type", "precision", "recall", "f1", "support"], rows


def shown_confusion(cm: ConfusionMatrix, limit: int = MAX_MATRIX_LABELS) -> tuple[ConfusionMatrix, str]:
    """The matrix restricted to the ``limit`` labels with the most gold examples (in their original order),
    and a note saying so ("" when nothing was left out). report.json always keeps the full matrix."""
    if len(cm.labels) <= limit:
        return cm, ""
    support = [sum(row) for row in cm.matrix]
    keep = sorted(sorted(range(len(cm.labels)), key=lambda i: -support[i])[:limit])
    matrix = [[cm.matrix[i][j] for j in keep] for i in keep]
    note = f"Showing the {limit} of {len(cm.labels)} labels with the most gold examples (report.json has all)."
    return ConfusionMatrix([cm.labels[i] for i in keep], matrix), note
