"""`bertkit evaluate`: score a model on labelled data and write a report; `--compare` diffs two reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bertkit.cli.common import (
    DeviceOpt,
    PrecisionOpt,
    TrustRemoteCodeOpt,
    cli_errors,
    err_console,
    out_console,
    quiet_libraries,
    warn,
)
from bertkit.errors import InputError


def parse_pairs(values: list[str] | None, option: str, meaning: str) -> dict[str, str]:
    """``A=B`` pairs, given once each or comma-separated (``a=b,c=d``)."""
    pairs: dict[str, str] = {}
    for value in values or []:
        for part in value.split(","):
            if not part.strip():
                continue
            key, sep, target = part.partition("=")
            if not sep or not key.strip() or not target.strip():
                raise InputError(
                    f"{option} {part!r}: expected {meaning}", hint=f"e.g. {option} {EXAMPLE_PAIRS[option]}"
                )
            pairs[key.strip()] = target.strip()
    return pairs


EXAMPLE_PAIRS = {"--columns": "text=sentence,label=label", "--label-map": "0=negative,1=positive"}


PIPE_WIDTH = 140  # tables printed to a file or pipe: wide enough for the comparison's eight columns


def table_console() -> Any:
    console = out_console()
    if not console.is_terminal:
        console.width = max(console.width, PIPE_WIDTH)
    return console


def report_name(path: Path, fallback: str) -> str:
    folder = path if path.is_dir() else path.parent
    return folder.name or fallback


def comparison_json(cmp: Any) -> dict[str, Any]:
    def interval(ci: Any) -> dict[str, float] | None:
        return None if ci is None else ci.to_dict()

    return {
        "task": cmp.task,
        "a": cmp.name_a,
        "b": cmp.name_b,
        "metrics": [
            {
                "split": row.split,
                "metric": row.metric,
                "a": row.a,
                "b": row.b,
                "delta": row.delta,
                "ci_a": interval(row.ci_a),
                "ci_b": interval(row.ci_b),
                "intervals_overlap": row.overlap,
                "better": row.better,
            }
            for row in cmp.metrics
        ],
        "per_label_f1": [{"split": s, "label": label, "a": a, "b": b} for s, label, a, b in cmp.per_label_f1],
        "splits_only_in_a": cmp.splits_only_in_a,
        "splits_only_in_b": cmp.splits_only_in_b,
    }


def compare_command(paths: tuple[Path, Path], *, markdown: bool, as_json: bool) -> None:
    from bertkit.evaluation.compare import compare, comparison_markdown, comparison_renderables

    first, second = paths
    names = report_name(first, "A"), report_name(second, "B")
    if names[0] == names[1]:
        names = ("A", "B")
    with cli_errors():
        cmp = compare(first, second, name_a=names[0], name_b=names[1])
    if as_json:
        sys.stdout.write(json.dumps(comparison_json(cmp), indent=2, ensure_ascii=False) + "\n")
    elif markdown:
        sys.stdout.write(comparison_markdown(cmp))
    else:
        console = table_console()
        for renderable in comparison_renderables(cmp):
            console.print(renderable)


def print_outcome(outcome: Any, output: Path | None, *, markdown: bool, as_json: bool) -> None:
    from bertkit.evaluation.render_md import render_markdown
    from bertkit.evaluation.render_rich import report_renderables

    errors = err_console()
    for note in outcome.notes:
        errors.print(f"Note: {note}", markup=False, style="dim")
    for message in outcome.warnings:
        warn(message)
    report = outcome.report
    if as_json:
        sys.stdout.write(report.to_json())
    elif markdown:
        sys.stdout.write(render_markdown(report))
    else:
        console = table_console()
        for renderable in report_renderables(report):
            console.print(renderable)
    if outcome.files:
        names = ", ".join(path.name for path in outcome.files.values())
        errors.print(f"Wrote {names} to {output}", markup=False)


def evaluate_command(
    model: Annotated[
        str | None,
        typer.Argument(help="Model folder (e.g. written by bertkit finetune) or hub id.", show_default=False),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help="Labelled data: a file (csv/tsv/json/jsonl/parquet/conll/squad), a folder, "
            "builtin:NAME or a hub dataset id. Default: the data of --recipe or of the model folder's recipe.yaml.",
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option("--task", "-t", help="Task; default: from the model's head (e.g. *ForTokenClassification)."),
    ] = None,
    recipe: Annotated[
        Path | None, typer.Option("--recipe", "-r", help="Take the data and task sections from this recipe.")
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="Split to evaluate: a hub split, a file name stem in a data folder, or (with a recipe) "
            "validation or test. Also the split's name in the report."
        ),
    ] = None,
    data_config: Annotated[str | None, typer.Option(help="Hub dataset configuration (e.g. sst2 for glue).")] = None,
    data_format: Annotated[
        str, typer.Option("--format", help="File format: auto, csv, tsv, json, jsonl, parquet, conll, squad, text.")
    ] = "auto",
    columns: Annotated[
        list[str] | None,
        typer.Option(help="Map the task's fields to columns: text=sentence,label=label (as data.columns in recipes)."),
    ] = None,
    label_map: Annotated[
        list[str] | None,
        typer.Option(help="Map data labels to model labels: DATA=MODEL (repeat, or comma-separated)."),
    ] = None,
    max_samples: Annotated[int | None, typer.Option(min=1, help="Evaluate only the first N examples.")] = None,
    max_length: Annotated[
        int | None, typer.Option(min=8, help="Tokens per input (window length for NER/QA); default: the model's.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Inputs per forward pass; default: the recipe's, else 32.")
    ] = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples for confidence intervals (0: no intervals).")
    ] = 1000,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
    worst_k: Annotated[int, typer.Option(min=0, help="Most confident errors listed in the report.")] = 10,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Folder for report.json, report.md, report.html and predictions.jsonl."),
    ] = None,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            metavar="REPORT_A REPORT_B",
            help="Compare two reports (report.json or its folder) instead: metric deltas with both CIs.",
        ),
    ] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown instead of tables.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report (or comparison) as JSON.")] = False,
    trust_remote_code: TrustRemoteCodeOpt = False,
) -> None:
    """Evaluate a model on labelled data: metrics with bootstrap confidence intervals, per-class tables, confusion
    matrix, truncation counts and the most confident errors, written as report.json/md/html.

    \b
    Examples:
      bertkit evaluate runs/sst2 --data dev.tsv --output reports/sst2
      bertkit evaluate runs/conll --data test.txt --json > report.json
      bertkit evaluate MODEL --data nyu-mll/glue --data-config sst2 --columns text=sentence
      bertkit evaluate runs/sst2      (the validation/test splits of the run's own recipe)
      bertkit evaluate --compare reports/a reports/b
    """
    if compare:
        if model is not None or data is not None:
            with cli_errors():
                raise InputError("--compare takes two reports; leave out MODEL and --data")
        compare_command(compare, markdown=markdown, as_json=as_json)
        return
    with cli_errors():
        if model is None:
            raise InputError(
                "no model given", hint="Usage: bertkit evaluate MODEL --data FILE [--output DIR], or --compare A B."
            )
        from bertkit.evaluation.sources import EvaluateRequest

        request = EvaluateRequest(
            model=model,
            data=data,
            task=task,
            recipe=str(recipe) if recipe else None,
            split=split,
            data_config=data_config,
            data_format=data_format,
            columns=parse_pairs(columns, "--columns", "FIELD=COLUMN"),
            label_map=parse_pairs(label_map, "--label-map", "DATA_LABEL=MODEL_LABEL"),
            max_samples=max_samples,
            max_length=max_length,
            batch_size=batch_size,
            device=device,
            precision=precision,
            bootstrap=bootstrap,
            confidence=confidence,
            seed=seed,
            worst_k=worst_k,
            trust_remote_code=trust_remote_code,
        )
    quiet_libraries()
    from bertkit.evaluation.pipeline import run_evaluation

    with cli_errors(), err_console().status(f"Evaluating {model} ...", spinner="dots") as spinner:
        outcome = run_evaluation(request, output=output, status=spinner.update)
    print_outcome(outcome, output, markdown=markdown, as_json=as_json)
