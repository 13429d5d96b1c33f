"""`bertkit fill-mask`: predict the masked words of a text."""

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


def render(results):
    from rich.table import Table

    table = Table(title="fill-mask", show_lines=True)
    for name in ("input", "mask", "token", "score", "sequence"):
        table.add_column(name, justify="right" if name in ("mask", "score") else "left")
    for number, result in enumerate(results, 1):
        for mask in result.masks:
            for rank, pred in enumerate(mask.predictions):
                table.add_row(
                    str(number) if rank == 0 and mask.index == 0 else "",
                    str(mask.index + 1) if rank == 0 else "",
                    text_cell(pred.token),
                    f"{pred.score:.4f}",
                    text_cell(pred.sequence, 100),
                )
    return table


def fill_mask_command(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts with one or more [MASK] tokens.")] = None,
    model: ModelOpt = DEFAULT_MODELS["fill-mask"],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Predictions per mask.")] = 5,
    targets: Annotated[
        str | None, typer.Option(help="Comma-separated candidate words: score only these (e.g. paris,london).")
    ] = None,
    input: InputOpt = None,
    column: ColumnOpt = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    batch_size: BatchSizeOpt = 32,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Predict the words hidden behind [MASK] (or the model's own mask token).

    Example: bertkit fill-mask "The capital of France is [MASK]." --top-k 3
    """
    from bertkit.inference.fill_mask import fill_mask
    from bertkit.io.inputs import collect_records

    with cli_errors():
        records = collect_records([{"text": t} for t in texts or []], input, {"text": column or "text"})
        loaded = load_model_for("fill-mask", model, device, precision, trust_remote_code)
        wanted = [t.strip() for t in targets.split(",") if t.strip()] if targets else None
        results = fill_mask(loaded, [r["text"] for r in records], top_k=top_k, targets=wanted, batch_size=batch_size)
    emit_results(results, as_json=as_json, output=output, render_table=render)
