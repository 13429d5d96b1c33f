"""SQuAD v1.1 / v2.0 nested JSON -> flat question-answering rows, and answer/context alignment checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bertkit.errors import DataError


def looks_like_squad(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list) or not data["data"]:
        return False
    first = data["data"][0]
    return isinstance(first, dict) and "paragraphs" in first


def flatten_squad(data: Any, source: str) -> tuple[dict[str, list[Any]], list[str]]:
    """Rows ``id, question, context, answers {text: [...], answer_start: [...]}``; v2.0 impossible questions
    get empty answer lists."""
    if not looks_like_squad(data):
        raise DataError(f'{source}: not SQuAD JSON (expected {{"data": [{{"paragraphs": [...]}}]}})')
    columns: dict[str, list[Any]] = {"id": [], "question": [], "context": [], "answers": []}
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(need(article, "paragraphs", list, f"data[{a}]", source)):
            where = f"data[{a}].paragraphs[{p}]"
            context = need(paragraph, "context", str, where, source)
            for q, qa in enumerate(need(paragraph, "qas", list, where, source)):
                qa_where = f"{where}.qas[{q}]"
                columns["id"].append(str(qa.get("id", f"{a}-{p}-{q}")) if isinstance(qa, dict) else "")
                columns["question"].append(need(qa, "question", str, qa_where, source))
                columns["context"].append(context)
                columns["answers"].append(flat_answers(qa, qa_where, source))
    version = data.get("version")
    notes = [f"{source}: SQuAD JSON{f' v{version}' if version else ''}, {len(columns['id'])} questions"]
    return columns, notes


def need(obj: Any, key: str, kind: type, where: str, source: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"{source}: {where} has no '{key}'", hint="Is this SQuAD v1.1/v2.0 JSON?")
    value = obj[key]
    if not isinstance(value, kind):
        raise DataError(f"{source}: {where}.{key} should be a {kind.__name__}, got {type(value).__name__}")
    return value


def flat_answers(qa: dict[str, Any], where: str, source: str) -> dict[str, list[Any]]:
    texts: list[str] = []
    starts: list[int] = []
    answers = [] if qa.get("is_impossible") else qa.get("answers", [])
    if not isinstance(answers, list):
        raise DataError(f"{source}: {where}.answers should be a list, got {type(answers).__name__}")
    for index, answer in enumerate(answers):
        text = need(answer, "text", str, f"{where}.answers[{index}]", source)
        start = need(answer, "answer_start", int, f"{where}.answers[{index}]", source)
        texts.append(text)
        starts.append(start)
    return {"text": texts, "answer_start": starts}


def check_alignment(
    contexts: Sequence[str], answers: Sequence[dict[str, list[Any]]], split: str, where: Callable[[int], str]
) -> list[str]:
    """Count answers whose text is not at ``answer_start`` in the context. Notes; an error when none match."""
    total = mismatched = 0
    first_bad: int | None = None
    unanswered = 0
    for row, (context, answer) in enumerate(zip(contexts, answers, strict=True)):
        texts, starts = answer.get("text") or [], answer.get("answer_start") or []
        if not texts:
            unanswered += 1
        for text, start in zip(texts, starts, strict=True):
            total += 1
            if context[start : start + len(text)] != text:
                mismatched += 1
                first_bad = row if first_bad is None else first_bad
    notes = []
    if unanswered:
        notes.append(f"{split}: {unanswered} question(s) without an answer (SQuAD 2.0 style)")
    if mismatched and mismatched == total:
        raise DataError(
            f"{split}: none of the {total} answers is found at its answer_start in the context "
            f"(first: {where(first_bad or 0)})",
            hint="answer_start is a character offset into the context (0 = first character). "
            "Check that the columns are mapped right (data.columns).",
        )
    if mismatched:
        notes.append(
            f"{split}: {mismatched} of {total} answers do not match the context at answer_start "
            f"(first: {where(first_bad or 0)}); they cannot be learned or scored exactly"
        )
    return notes
