"""`bertkit classify`: label texts (or sentence pairs) with a sequence-classification model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bertkit.cli.common import (
    BatchSizeOpt,
    ColumnOpt,
    DeviceOpt,
    InputOpt,
    JsonOpt,
    ModelOpt,
    OutputOpt,
    PrecisionOpt,
    TrustRemoteCodeOpt,
    cli_errors,
    emit_results,
    load_model_for,
    text_cell,
    warn,
)
from bertkit.modeling.hub import DEFAULT_MODELS


def render(results):
    from rich.table import Table

    with_pairs = any(r.text_pair is not None for r in results)
    with_scores = any(r.scores for r in results)
    with_cut = any(r.truncated for r in results)
    table = Table(title="classify", show_lines=with_scores)
    table.add_column("#", justify="right")
    table.add_column("text")
    if with_pairs:
        table.add_column("pair")
    table.add_column("label")
    table.add_column("score", justify="right")
    if with_scores:
        table.add_column("all scores")
    if with_cut:
        table.add_column("truncated")
    for number, result in enumerate(results, 1):
        row = [str(number), text_cell(result.text)]
        if with_pairs:
            row.append(text_cell(result.text_pair or ""))
        row += [text_cell(result.label), f"{result.score:.4f}"]
        if with_scores:
            row.append(text_cell("\n".join(f"{k}: {v:.4f}" for k, v in (result.scores or {}).items()), 10_000))
        if with_cut:
            row.append("yes" if result.truncated else "")
        table.add_row(*row)
    return table


def gather_inputs(texts: list[str], pairs: list[str], input: Path | None, column: str | None, pair_column: str | None):
    """Records with ``text`` (and ``text_pair``) from arguments, ``--input`` or stdin; option mix-ups rejected."""
    from bertkit.errors import InputError
    from bertkit.io.inputs import collect_records

    if pairs and not texts:
        raise InputError(
            "--pair gives the second text of a pair given as arguments, but no texts were given",
            hint='Write: bertkit classify "first text" --pair "second text" (for a file, use --pair-column).',
        )
    if pairs and len(pairs) != len(texts):
        raise InputError(
            f"got {len(texts)} text(s) but {len(pairs)} --pair value(s): give exactly one --pair per text",
            hint='Example: bertkit classify "A man sleeps." --pair "A person rests." "Cats fly." --pair "Cats sit."',
        )
    if pair_column and texts:
        raise InputError("--pair-column names a column of an --input file (or stdin); for arguments use --pair")
    if texts:
        args = [{"text": t, "text_pair": p} for t, p in zip(texts, pairs, strict=True)] if pairs else None
        return collect_records(args or [{"text": t} for t in texts], input, {"text": "text"})
    columns = {"text": column or "text"}
    if pair_column:
        columns["text_pair"] = pair_column
    return collect_records([], input, columns)


def classify_command(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify (or use --input / stdin).")] = None,
    pair: Annotated[
        list[str] | None,
        typer.Option("--pair", help="Second text of a sentence pair; repeat once per positional text, in order."),
    ] = None,
    model: ModelOpt = DEFAULT_MODELS["text-classification"],
    input: InputOpt = None,
    column: ColumnOpt = None,
    pair_column: Annotated[
        str | None, typer.Option(help="Column (CSV/TSV) or key (JSONL) holding the second text of each pair.")
    ] = None,
    all_scores: Annotated[
        bool, typer.Option("--all-scores", help="Show every label's score, not just the best.")
    ] = False,
    labels: Annotated[
        str | None,
        typer.Option(help="Comma-separated label names in id order, for models saved without names (LABEL_0, ...)."),
    ] = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    batch_size: BatchSizeOpt = 32,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Classify texts or sentence pairs (sentiment, topic, entailment, ...) with a fine-tuned model.

    Inputs longer than the model's window are truncated, and the command says how many were.

    Example: bertkit classify "I love this product!" "Never again." --all-scores
    """
    from bertkit.inference.classify import classify

    with cli_errors():
        records = gather_inputs(texts or [], pair or [], input, column, pair_column)
        names = labels.split(",") if labels is not None else None
        loaded = load_model_for(
            "text-classification", model, device, precision, trust_remote_code, labels_given=names is not None
        )
        has_pairs = any("text_pair" in r for r in records)
        results = classify(
            loaded,
            [r["text"] for r in records],
            [r["text_pair"] for r in records] if has_pairs else None,
            all_scores=all_scores,
            label_names=names,
            batch_size=batch_size,
        )
    cut = sum(r.truncated for r in results)
    if cut:
        warn(
            f"{cut} of {len(results)} input(s) are longer than the model's {loaded.max_length}-token window and were "
            f"truncated: their labels come from the first {loaded.max_length} tokens only ('truncated' in results)."
        )
    emit_results(results, as_json=as_json, output=output, render_table=render)
