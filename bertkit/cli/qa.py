"""`bertkit qa`: extractive question answering with character offsets, on contexts of any length."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bertkit.cli.common import (
    BatchSizeOpt,
    DeviceOpt,
    JsonOpt,
    ModelOpt,
    OutputOpt,
    PrecisionOpt,
    TrustRemoteCodeOpt,
    cli_errors,
    emit_results,
    load_model_for,
    text_cell,
)
from bertkit.errors import InputError
from bertkit.modeling.hub import DEFAULT_MODELS

QUESTION_HELP = "The question. Repeat it to ask several questions about one context."
QAInputOpt = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="Read question/context pairs from a file: .jsonl, .json, .csv or .tsv (see --question-column and "
        "--context-column). Use - for stdin.",
    ),
]
INPUTS_HINT = (
    "Pass --question TEXT with --context TEXT (or --context-file FILE), or --input FILE holding question and "
    "context fields (JSONL, JSON, CSV or TSV; see --question-column and --context-column)."
)


def read_context_file(path: Path) -> str:
    from bertkit.io.inputs import decode_utf8

    if str(path) == "-":
        stream = sys.stdin
        raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        return decode_utf8(raw, "stdin") if isinstance(raw, bytes) else raw
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise InputError(f"context file {what}: {path}", hint="Check the path passed to --context-file.")
    return decode_utf8(path.read_bytes(), str(path))


def qa_records(questions, context, context_file, input, columns) -> list[dict[str, str]]:
    """Question/context records from the options, from --input, or from JSON Lines on stdin."""
    from bertkit.io.inputs import collect_records

    if context is not None and context_file is not None:
        raise InputError("give the context either with --context or with --context-file, not both")
    if context_file is not None:
        context = read_context_file(context_file)
    if questions or context is not None:
        if not questions:
            raise InputError("a context was given but no question", hint="Add --question TEXT.")
        if context is None:
            raise InputError(f"--question needs a context: {questions[0][:60]!r} has none", hint=INPUTS_HINT)
        return collect_records([{"question": q, "context": context} for q in questions], input, columns)
    if input is not None:
        return collect_records([], input, columns)
    records = read_stdin_records(columns)
    if not records:
        raise InputError("no question given: nothing to answer", hint=INPUTS_HINT)
    return collect_records(records, None, columns)


def read_stdin_records(columns) -> list[dict[str, str]]:
    """Question/context records piped on stdin (JSON Lines, or JSON); nothing when stdin is a terminal or empty."""
    from bertkit.io.inputs import STDIN, detect_format, parse_records, stdin_has_data

    if not stdin_has_data():
        return []
    text = read_context_file(STDIN)
    if not text.strip():
        return []
    return parse_records(text, detect_format(STDIN, text), columns, "stdin")


def render(results):
    from rich.table import Table

    table = Table(title="qa", show_lines=False)
    for name in ("input", "question", "rank", "answer", "start", "end", "score"):
        table.add_column(name, justify="right" if name in ("input", "rank", "start", "end", "score") else "left")
    for number, result in enumerate(results, 1):
        rows = []
        if result.no_answer:
            score = "" if result.null_score is None else f"{result.null_score:.4f}"
            rows.append((text_cell("(no answer)"), "", "", score))
        for answer in result.answers:
            rows.append((text_cell(answer.text, 60), str(answer.start), str(answer.end), f"{answer.score:.4f}"))
        for rank, (answer, start, end, score) in enumerate(rows, 1):
            first = rank == 1
            question = text_cell(result.question, 50) if first else ""
            table.add_row(str(number) if first else "", question, str(rank), answer, start, end, score)
    return table


def qa_command(
    question: Annotated[list[str] | None, typer.Option("--question", "-q", help=QUESTION_HELP)] = None,
    context: Annotated[str | None, typer.Option("--context", "-c", help="The text holding the answer.")] = None,
    context_file: Annotated[
        Path | None, typer.Option("--context-file", help="Read the context from a UTF-8 text file (- for stdin).")
    ] = None,
    model: ModelOpt = DEFAULT_MODELS["question-answering"],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Answers per question, best first.")] = 1,
    max_answer_length: Annotated[int, typer.Option(min=1, help="Longest answer, in tokens.")] = 30,
    max_length: Annotated[
        int | None,
        typer.Option(min=2, help="Window length in tokens (question + context). Default: min(384, model's)."),
    ] = None,
    doc_stride: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Context tokens shared by consecutive windows of a long context. Default: 128, or half the "
            "room left for the context when that is less.",
        ),
    ] = None,
    allow_no_answer: Annotated[
        bool, typer.Option("--allow-no-answer", help="Let the model answer 'no answer' (SQuAD 2.0-style models).")
    ] = False,
    null_threshold: Annotated[
        float,
        typer.Option(help="With --allow-no-answer: answer 'no answer' when null logit - best span logit exceeds this."),
    ] = 0.0,
    input: QAInputOpt = None,
    question_column: Annotated[str, typer.Option(help="Column (CSV/TSV) or key (JSONL) of the question.")] = "question",
    context_column: Annotated[str, typer.Option(help="Column (CSV/TSV) or key (JSONL) of the context.")] = "context",
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    batch_size: BatchSizeOpt = 32,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Answer questions by extracting a span of the context: answer text, character offsets, score.

    Long contexts are split into overlapping windows (--doc-stride), nothing is truncated. Score: P(start) x
    P(end), softmaxes of the start and end logits over the window's context tokens and the no-answer token (as
    the transformers 4 question-answering pipeline scored answers).

    Example: bertkit qa -q "Where does Mary live?" -c "Mary lives in Paris."
    """
    from bertkit.inference.qa import answer_questions

    with cli_errors():
        columns = {"question": question_column, "context": context_column}
        records = qa_records(question, context, context_file, input, columns)
        loaded = load_model_for("question-answering", model, device, precision, trust_remote_code)
        results = answer_questions(
            loaded,
            [r["question"] for r in records],
            [r["context"] for r in records],
            top_k=top_k,
            max_answer_length=max_answer_length,
            max_length=max_length,
            doc_stride=doc_stride,
            allow_no_answer=allow_no_answer,
            null_threshold=null_threshold,
            batch_size=batch_size,
        )
    emit_results(results, as_json=as_json, output=output, render_table=render)
