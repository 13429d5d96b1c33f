"""`bertkit ner`: named entities with character offsets, on texts of any length."""

from __future__ import annotations

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
)
from bertkit.modeling.hub import DEFAULT_MODELS

MaxLengthOpt = Annotated[
    int | None,
    typer.Option(min=2, help="Window length in tokens. Default: the model's maximum. Longer texts use more windows."),
]
StrideOpt = Annotated[
    int | None,
    typer.Option(min=0, help="Tokens shared by consecutive windows. Default: min(128, half a window)."),
]
AggregationOpt = Annotated[
    str,
    typer.Option(
        help="How a word gets its label from its subwords: first (the first subword's), average (mean "
        "probabilities) or max (the most confident subword's)."
    ),
]


def render(results):
    from rich.table import Table

    table = Table(title="ner", show_lines=False)
    for name in ("input", "entity", "type", "start", "end", "score"):
        table.add_column(name, justify="right" if name in ("input", "start", "end", "score") else "left")
    for number, result in enumerate(results, 1):
        if not result.entities:
            table.add_row(str(number), text_cell("(no entities)"), "", "", "", "")
        for rank, entity in enumerate(result.entities):
            table.add_row(
                str(number) if rank == 0 else "",
                text_cell(entity.text),
                text_cell(entity.type),
                str(entity.start),
                str(entity.end),
                f"{entity.score:.4f}",
            )
    return table


def ner_command(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to tag (any length).")] = None,
    model: ModelOpt = DEFAULT_MODELS["token-classification"],
    aggregation: AggregationOpt = "first",
    max_length: MaxLengthOpt = None,
    stride: StrideOpt = None,
    input: InputOpt = None,
    column: ColumnOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    batch_size: BatchSizeOpt = 32,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Find named entities: word-level spans with character offsets, type and score.

    Texts longer than the model's window are split into overlapping windows (nothing is truncated); each token
    is predicted by the window where it has the most context. Scores: the probability of a word's label on its
    first subword (see --aggregation), averaged over the entity's words.

    Example: bertkit ner "George Washington went to Washington."
    """
    from bertkit.inference.ner import recognize_entities
    from bertkit.io.inputs import collect_records
    from bertkit.tasks.entities import check_aggregation

    with cli_errors():
        aggregation = check_aggregation(aggregation)
        records = collect_records([{"text": t} for t in texts or []], input, {"text": column or "text"})
        loaded = load_model_for("token-classification", model, device, precision, trust_remote_code)
        results = recognize_entities(
            loaded,
            [r["text"] for r in records],
            aggregation=aggregation,
            max_length=max_length,
            stride=stride,
            batch_size=batch_size,
        )
    emit_results(results, as_json=as_json, output=output, render_table=render)
