"""What every command shares: option types, error handling, output of results.

Heavy libraries are imported inside functions so that ``bertkit --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from bertkit.errors import BertkitError

ModelOpt = Annotated[
    str,
    typer.Option("--model", "-m", help="Hub id (e.g. bert-base-uncased) or local model folder."),
]
DeviceOpt = Annotated[
    str,
    typer.Option(help="auto | cpu | cuda | cuda:N | mps. auto picks CUDA, then MPS, then CPU."),
]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        help="auto | fp32 | bf16 | fp16. auto uses bf16 autocast where the hardware runs it fast "
        "and the task stays stable, fp32 otherwise."
    ),
]
BatchSizeOpt = Annotated[int, typer.Option(min=1, help="Texts per forward pass (sorted by length first).")]
TrustRemoteCodeOpt = Annotated[
    bool,
    typer.Option(
        "--trust-remote-code",
        help="Allow running Python code shipped with the model. Off by default: only for models you trust.",
    ),
]
InputOpt = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="Read inputs from a file: .txt (one per line), .jsonl, .csv or .tsv (see --column). Use - for stdin.",
    ),
]
ColumnOpt = Annotated[
    str | None,
    typer.Option(help="Column (CSV/TSV) or key (JSONL) holding the text. Default: 'text', or the only column."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON Lines (one object per input) instead of a table.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write results to this file: .json (one array) or .jsonl (one per line)."),
]

stderr_console_kwargs: dict[str, Any] = {"stderr": True, "highlight": False, "soft_wrap": True}


def err_console():
    from rich.console import Console

    return Console(**stderr_console_kwargs)


def out_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def print_error(err: BertkitError) -> None:
    console = err_console()
    console.print(f"Error: {err.message}", markup=False, style="bold red")
    if err.hint:
        console.print(err.hint, markup=False)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn a ``BertkitError`` into a message on stderr and exit code 1 (no traceback)."""
    try:
        yield
    except BertkitError as err:
        print_error(err)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console().print("Interrupted.", markup=False)
        raise typer.Exit(130) from None


def warn(message: str) -> None:
    err_console().print(f"Warning: {message}", markup=False, style="yellow")


def quiet_libraries() -> None:
    """Keep transformers' and datasets' own logging out of our output (our checks say what matters)."""
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with contextlib.suppress(Exception):
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    with contextlib.suppress(Exception):
        import datasets

        datasets.logging.set_verbosity_error()
        datasets.disable_progress_bars()


def to_jsonable(obj: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        return obj.item()
    return obj


def emit_results(
    records: Sequence[Any],
    *,
    as_json: bool,
    output: Path | None,
    render_table: Callable[[Sequence[Any]], Any],
) -> None:
    """Write results to ``output`` (atomically) and/or print them: JSON Lines with ``--json``, else a table."""
    from bertkit.io.outputs import write_records

    rows = [to_jsonable(r) for r in records]
    if output is not None:
        with cli_errors():
            write_records(output, rows)
        err_console().print(f"Wrote {len(rows)} result(s) to {output}", markup=False)
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    elif output is None:
        out_console().print(render_table(records))


def load_model_for(
    task: str, model: str, device: str, precision: str, trust_remote_code: bool, *, labels_given: bool = False
) -> Any:
    """Load a model for an inference command, with a spinner on stderr; warnings go to stderr too.

    ``labels_given``: the user named the labels (``--labels``), so the "labels have no names" warning is moot.
    """
    from bertkit.modeling.loading import label_warnings, load_for_inference

    quiet_libraries()
    with err_console().status(f"Loading {model} ...", spinner="dots"):
        loaded = load_for_inference(
            model, task, device=device, precision=precision, trust_remote_code=trust_remote_code
        )
    moot = set(label_warnings(task, loaded.model)) if labels_given else set()
    for message in loaded.warnings:
        if message not in moot:
            warn(message)
    return loaded


def text_cell(value: str, limit: int = 80):
    """A table cell that shows user text literally (no Rich markup: ``[MASK]`` stays visible)."""
    from rich.text import Text

    value = value if len(value) <= limit else value[: limit - 1] + "…"
    return Text(value)
