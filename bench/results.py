"""The results table: every benchmark's measurements, bertkit next to the transformers.Trainer references.

    python bench/results.py          # rebuild bench/RESULTS.md from the measurements saved in bench/out/
    python bench/results.py --run    # run the benchmarks first (several hours on 2 CPU cores), then rebuild
    python bench/results.py --run --only quickstart,infer

Each benchmark script measures bertkit and its reference in the same run and saves JSON in bench/out/; this
script only collects those files (the newest file wins where several hold the same row) and writes the table,
with the machine and package versions. Nothing in the table is typed by hand.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from references.harness import bertkit_row  # noqa: E402

OUT = HERE / "out"
TABLE = HERE / "RESULTS.md"
PY = sys.executable
DATA = Path(os.environ.get("BERTKIT_BENCH_DATA", HERE.parent.parent / "shared" / "data"))
SPEEDUP = "speed-up, bertkit defaults vs pipeline defaults"

RUNS: dict[str, list[list[str]]] = {
    "quickstart": [[PY, str(HERE / "results.py"), "--quickstart"]],
    "infer": [[PY, str(HERE / "infer.py")]],
    "finetune": [
        [
            *[PY, str(HERE / "finetune.py"), "--steps", "300", "--only"],
            "bertkit,trainer-tuned,trainer-default,bertkit-stock,bertkit,trainer-tuned,bertkit-stock",
            *["--epoch", "--json", str(OUT / "finetune.json")],
        ]
    ],
    "ner": [
        [
            *[PY, str(HERE / "ner.py"), "--max-steps", "300", "--runs"],
            "bertkit,reference-grouped,bertkit-stock,bertkit,reference-grouped,bertkit-stock,bertkit,reference-grouped",
        ],
        [
            PY,
            str(HERE / "ner.py"),
            "--max-steps",
            "300",
            "--random-batches",
            "--runs",
            "bertkit,bertkit-stock,reference",
        ],
        *[  # one run after the other: test F1 and whole-epoch rates of the pairs (EPOCH_PAIRS), against the grouped
            # Trainer with eager attention (faster than its default sdpa in 200-step runs) and, with the earlier
            # default of 4 length chunks, against both
            [PY, str(HERE / "ner.py"), "--max-steps", "0", "--runs", f"{mine},{reference}", "--seed", seed]
            for mine, reference, seeds in (
                ("bertkit", "reference-grouped-eager", ("42", *map(str, range(1, 18)))),
                ("bertkit-4-chunks", "reference-grouped", ("42", "1", "2", "3", "4", "5", "6", "7")),
                ("bertkit-4-chunks", "reference-grouped-eager", ("42", "1", "2", "3", "4", "5")),
            )
            for seed in seeds
        ],
        [
            *[PY, str(HERE / "ner.py"), "--max-steps", "300"],
            "--runs",
            "reference-grouped,reference-grouped-compiled,bertkit-4-chunks",
        ],
        [
            *[PY, str(HERE / "ner.py"), "--max-steps", "0"],
            *["--runs", "bertkit-4-chunks,reference-grouped-compiled", "--seed", "42"],
        ],
        *[
            [PY, str(HERE / "ner.py"), "--max-steps", "0", "--runs", "reference,bertkit-whole-batches", "--seed", seed]
            for seed in ("42", "1", "2", "3", "4", "5", "6", "7")
        ],
        *[  # the run_ner-style reference's test F1 on the seeds of the later pairs
            [PY, str(HERE / "ner.py"), "--max-steps", "0", "--runs", "reference", "--seed", seed]
            for seed in map(str, range(8, 18))
        ],
        *[
            [PY, str(HERE / "ner.py"), "--max-steps", "0", "--runs", "bertkit", "--random-batches", "--seed", seed]
            for seed in ("42", *map(str, range(1, 8)))
        ],
        *[  # random batches, as the run_ner-style reference samples them, against the grouped Trainer (eager)
            [
                *[PY, str(HERE / "ner.py"), "--max-steps", "0", "--runs", "bertkit,reference-grouped-eager"],
                *["--random-batches", "--seed", seed],
            ]
            for seed in ("8", "9", "10", "11")
        ],
        [PY, str(HERE / "ner_orders.py"), "--seed", "3"],  # the default batch order vs chunks joined at random
        *[  # the batch-mean loss instead of the token-weighted one (task.token_weighted_loss=false)
            [PY, str(HERE / "ner.py"), "--max-steps", "0", "--runs", "bertkit", "--mean-loss", "--seed", seed]
            for seed in ("42", "1", "2", "3", "4", "5")
        ],
    ],
    "qa": [
        [PY, str(HERE / "qa.py"), "--max-steps", "60", "--runs", "bertkit,reference-best,bertkit-stock,reference"],
        [PY, str(HERE / "qa.py"), "--max-steps", "0", "--runs", "reference,bertkit"],
    ],
    "mlm": [
        [PY, str(HERE / "results.py"), "--recipe-run", "mlm"],
        [PY, str(HERE / "results.py"), "--recipe-run", "mlm-stock"],
    ],
    "pretraining": [[PY, str(HERE / "results.py"), "--recipe-run", "pretraining"]],
}

# Shipped recipes run as they are, on local corpora made from ../shared/data, shortened with --set.
RECIPE_RUNS: dict[str, tuple[str, str, list[str]]] = {
    "mlm": (
        "mlm/domain-adaptive",
        "sst2-sentences.txt",
        [
            *["model.name=minilm", "task.max_length=128", "training.max_steps=200", "evaluation.steps=100"],
            "training.gradient_accumulation_steps=1",
        ],
    ),
    "mlm-stock": (  # the same run with transformers' and torch's code paths, 60 steps: the speed-ups' gain
        "mlm/domain-adaptive",
        "sst2-sentences.txt",
        [
            *["model.name=minilm", "task.max_length=128", "training.max_steps=60", "evaluation.steps=100"],
            *["training.gradient_accumulation_steps=1", "training.speedups=false"],
        ],
    ),
    "pretraining": (
        "pretraining/tiny-bert-from-scratch",
        "conll2003-documents.txt",
        ["training.max_steps=400", "training.batch_size=32", "evaluation.steps=200", "task.tokenizer.vocab_size=8000"],
    ),
}


# ---------------------------------------------------------------------------------------------- measuring
def run_quickstart() -> None:
    """The README's quickstart, timed: `bertkit finetune quickstart/sentiment` into bench/out/quickstart."""
    out = OUT / "quickstart"
    command = ["bertkit", "finetune", "quickstart/sentiment", "--set", f"output.dir={out}", "--set"]
    command += ["output.overwrite=true", "--log-format", "json"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    metrics = json.loads((out / "metrics.json").read_text())["splits"]["validation"]
    summary = {"seconds": seconds, "validation": metrics, "command": "bertkit finetune quickstart/sentiment"}
    (OUT / "quickstart.json").write_text(json.dumps(summary, indent=2) + "\n")


def write_corpus(name: str) -> Path:
    """SST-2 train sentences one per line, or CoNLL-2003 train documents (a sentence per line, blank line between
    documents, as pre-training with next-sentence prediction needs)."""
    import csv

    path = OUT / "corpora" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.startswith("sst2"):
        with (DATA / "sst2" / "train.tsv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        path.write_text("\n".join(text for text, _ in rows) + "\n", encoding="utf-8")
        return path
    documents: list[list[str]] = [[]]
    sentence: list[str] = []
    for line in [*(DATA / "conll2003" / "train.txt").read_text(encoding="utf-8").splitlines(), ""]:
        token = line.split(" ")[0] if line.strip() else ""
        if token == "-DOCSTART-":
            documents.append([])
        elif token:
            sentence.append(token)
        elif sentence:
            documents[-1].append(" ".join(sentence))
            sentence = []
    path.write_text("\n\n".join("\n".join(d) for d in documents if d) + "\n", encoding="utf-8")
    return path


def run_recipe(name: str) -> None:
    """A shipped recipe by name on a local corpus, timed; its final metrics go to bench/out/recipe-<name>.json."""
    recipe, corpus, settings = RECIPE_RUNS[name]
    out = OUT / f"recipe-{name}"
    settings = [*settings, f"data.dataset={write_corpus(corpus)}", f"output.dir={out}", "output.overwrite=true"]
    command = ["bertkit", "finetune", recipe, *[arg for s in settings for arg in ("--set", s)], "--log-format", "json"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    summary = {"recipe": recipe, "corpus": corpus, "settings": settings[:-3], "seconds": time.perf_counter() - start}
    summary |= {"steps": metrics["global_step"], "validation": metrics["splits"]["validation"]}
    (OUT / f"recipe-{name}.json").write_text(json.dumps(summary, indent=2) + "\n")


def run_benchmarks(names: list[str]) -> None:
    for name in names:
        for command in RUNS[name]:
            print(f"[{time.strftime('%H:%M:%S')}] {' '.join(command[1:])}", flush=True)
            subprocess.run(command, check=True)


# ---------------------------------------------------------------------------------------------- collecting
def load(pattern: str) -> list[dict[str, Any]]:
    """Every saved report matching ``pattern``, oldest first."""
    reports = [json.loads(p.read_text()) | {"_file": p.name} for p in OUT.glob(pattern)]
    return sorted(reports, key=written_at)


def written_at(report: dict[str, Any]) -> float:
    """When a report was written (seconds since the epoch, UTC): its own ``measured_at``, else its file's time
    (reports written before they recorded it)."""
    stamp = report.get("machine", {}).get("measured_at")
    if stamp:
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    return (OUT / report["_file"]).stat().st_mtime


def rows_by_name(pattern: str) -> dict[str, dict[str, Any]]:
    """Rows of the bench/ner.py / bench/qa.py reports matching ``pattern``: per name, the row measured over the
    most steps (the steadiest figure), and of those the newest; each with its report's bertkit row (``_bertkit``,
    the one bench/ner.py and bench/qa.py print ratios against)."""
    rows: dict[str, dict[str, Any]] = {}
    for report in load(pattern):
        mine = bertkit_row(report["rows"])
        for row in report["rows"]:
            if row["steps"] >= rows.get(row["name"], {}).get("steps", 0):
                rows[row["name"]] = row | {"_file": report["_file"], "_bertkit": mine}
    return rows


def run_ratio(row: dict[str, Any] | None, key: str) -> str:
    """bertkit's rate over the row's, both measured in the same run ('' for bertkit's own row, n/a without one)."""
    if not row or row.get("_bertkit") is None:
        return "n/a" if row else ""
    mine = row["_bertkit"]
    return "" if mine["name"] == row["name"] else ratio(mine[key], row[key])


def pick(rows: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    return rows.get(name)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


# ---------------------------------------------------------------------------------------------- sections
def quickstart_section() -> list[str]:
    found = load("quickstart.json")
    if not found:
        return ["_quickstart: not measured (python bench/results.py --run --only quickstart)_", ""]
    q = found[-1]
    v = q["validation"]
    return [
        "| Run | Validation accuracy | Macro-F1 | Wall time (incl. start-up and report) |",
        "|---|---|---|---|",
        f"| `{q['command']}` (161 built-in sentences) | {pct(v.get('accuracy'))} | {pct(v.get('macro_f1'))} "
        f"| {q['seconds']:.0f} s |",
        "",
    ]


def infer_section() -> list[str]:
    found = load("infer.json")
    if not found:
        return ["_inference: not measured (python bench/infer.py)_", ""]
    r = found[-1]
    facts = r["facts"]
    lines = ["| Setup | Texts/s |", "|---|---|"]
    lines += [f"| {name} | {rate:.1f} |" for name, rate in r["texts_per_second"].items()]
    lines += [
        "",
        f"Speed-up, bertkit defaults vs pipeline defaults: **{facts[SPEEDUP]}**"
        f"; identical labels: **{facts['labels identical, bertkit defaults vs pipeline']}** "
        f"({facts['texts / tokens']} texts / tokens; {facts.get('labels that differ', '')}).",
        "",
    ]
    if "bf16 / fp32 matmul speed, model shapes" in facts:
        lines += [
            f"Linear layers at the model's shapes run at {facts['linear layers fp32 / bf16 GFLOP/s (model shapes)']}"
            f" GFLOP/s in fp32 / bf16 on this CPU ({facts['bf16 / fp32 matmul speed, model shapes']}): on the long "
            "texts that hold most tokens, the batch-1 pipeline pads nothing, so bf16 can gain about that much there.",
            "",
        ]
    return lines


def finetune_section() -> list[str]:
    found = load("finetune.json")
    if not found:
        return ["_SST-2: not measured (python bench/finetune.py --epoch --json bench/out/finetune.json)_", ""]
    r = found[-1]
    speed, acc = r.get("throughput", {}), r.get("accuracy", {})
    names = {
        "bertkit": "bertkit finetune (defaults: bf16 auto, length grouping, speed-ups)",
        "bertkit-stock": "bertkit finetune with training.speedups=false",
        "trainer-default": "Trainer as run_glue.py runs by default (pad to 128, fp32)",
        "trainer-tuned": "Trainer, best CPU settings (dynamic padding, group_by_length, bf16)",
    }
    bertkit = speed.get("bertkit", {}).get("steady")
    lines = ["| System | Train samples/s (steady) | bertkit is | Dev accuracy after 1 epoch | Epoch time |"]
    lines.append("|---|---|---|---|---|")
    for key, label in names.items():
        s, a = speed.get(key, {}), acc.get(key, {})
        if not s and not a:
            continue
        rate = s.get("steady")
        accuracy = a.get("metrics", {}).get("accuracy")
        epoch = f"{a['train_seconds'] / 60:.1f} min" if "train_seconds" in a else "not run"
        vs = "" if key == "bertkit" else ratio(bertkit, rate)
        lines.append(f"| {label} | {rate or 0:.1f} | {vs} | {pct(accuracy)} | {epoch} |")
    lines.append("")
    if "steps" in r:
        window = f"between step {r['warmup_steps']} and step {r['steps']}"
        lines += [f"Samples/s {window} (the best of the interleaved runs of each system).", ""]
    mine, theirs = acc.get("bertkit", {}).get("train_seconds"), acc.get("trainer-tuned", {}).get("train_seconds")
    if mine and theirs:
        lines += [
            f"Whole epoch: bertkit trains in {mine / 60:.1f} min, the tuned Trainer in {theirs / 60:.1f} min "
            f"({theirs / mine:.2f}x; the Trainer's time includes its start-up).",
            "",
        ]
    return lines


# bertkit (default 2 length chunks, or 4), then the grouped Trainer (with transformers' default sdpa attention, eager,
# or torch.compile), one after the other
EPOCH_PAIRS = tuple(
    f"ner-{mine}-reference-grouped{kind}-epoch-seed*.json"
    for mine in ("bertkit", "bertkit-4-chunks")
    for kind in ("", "-eager", "-compiled")
)


def ner_section() -> list[str]:
    speed = rows_by_name("ner-*steps*.json")
    f1: dict[str, dict[int, float]] = {}
    for report in load("ner-*epoch*.json"):
        found = re.search(r"seed(\d+)", report["_file"])
        seed = int(report.get("seed", found.group(1) if found else 42))
        for row in report["rows"]:
            if "test" in row:
                f1.setdefault(row["name"], {})[seed] = row["test"]["f1"]
    if not speed and not f1:
        return ["_CoNLL-2003: not measured (python bench/ner.py)_", ""]
    bertkit = pick(speed, "bertkit finetune")
    steps = bertkit["steps"] if bertkit else max((row["steps"] for row in speed.values()), default=300)
    epoch, paired = epoch_rates()
    head = f"| System | Train sentences/s ({steps} steps) | bertkit is (same run) "
    head += "| Whole epoch, paired runs: sentences/s (runs) | Test F1: mean ± sd (seeds) | Test F1 by seed |"
    lines = [head, "|---|---|---|---|---|---|"]
    for name in sorted(set(speed) | set(f1) | set(epoch), key=lambda n: (n.startswith("bertkit"), n)):
        rate = speed.get(name, {}).get("train_sentences_per_s")
        other_steps = speed.get(name, {}).get("steps", steps) != steps
        vs = run_ratio(speed.get(name), "train_sentences_per_s")
        shown = f"{rate:.1f}" + (f" ({speed[name]['steps']} steps)" if other_steps else "") if rate else ""
        scores = f1.get(name, {})
        by_seed = ", ".join(f"{seed}: {pct(scores[seed])}" for seed in sorted(scores))
        whole = ""
        if name in epoch:
            whole = f"{statistics.mean(epoch[name]):.1f} ({len(epoch[name])})"
            for mine, (ours, theirs) in paired.get(name, {}).items():  # bertkit over this reference, same pairs
                label = "bertkit" + mine.removeprefix("bertkit finetune")
                pairs = f"{len(ours)} pair" + ("s" if len(ours) > 1 else "")
                whole += f"; {label} {statistics.mean(ours) / statistics.mean(theirs):.2f}x ({pairs})"
        lines.append(f"| {name} | {shown} | {vs} | {whole} | {spread(list(scores.values()))} | {by_seed} |")
    return [*lines, "", *compile_notes()]


def compile_notes() -> list[str]:
    """What torch.compile cost the Trainer: its wall time against the uncompiled Trainer's in the same report (the
    rates above leave out the first --warmup-steps steps, where it first compiles, but not later recompilations)."""
    lines = []
    for report in load("ner-*compiled*.json"):
        rows = {row["name"]: row for row in report["rows"]}
        for name, row in rows.items():
            if "torch.compile" not in name or "train_wall_s" not in row:
                continue
            plain = rows.get(name.replace(", torch.compile", ""), {}).get("train_wall_s")
            steps = "one epoch" if report["max_steps"] <= 0 else f"{report['max_steps']} steps"
            against = "" if plain is None else f", against {plain:.0f} s without it in the same run"
            lines.append(f"- {name}, {steps}: {row['train_wall_s']:.0f} s of training wall time{against}.")
    if not lines:
        return []
    head = "torch.compile compiles in the first steps (left out of the rates) and again for shapes it has not met, such"
    head += " as a short last batch (counted in them); the wall times say what it cost:"
    return [head, "", *lines, ""]


def epoch_rates() -> tuple[dict[str, list[float]], dict[str, dict[str, tuple[list[float], list[float]]]]]:
    """Whole-epoch train rates of the runs made in pairs, one after the other (EPOCH_PAIRS), by name; and for each
    reference, per bertkit configuration it was paired with, (bertkit's rates, the reference's) in those pairs."""
    rates: dict[str, list[float]] = {}
    paired: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for report in (report for pattern in EPOCH_PAIRS for report in load(pattern)):
        mine = bertkit_row(report["rows"])
        for row in report["rows"]:
            rates.setdefault(row["name"], []).append(row["train_sentences_per_s"])
            if mine is not None and row is not mine:
                ours, theirs = paired.setdefault(row["name"], {}).setdefault(mine["name"], ([], []))
                ours.append(mine["train_sentences_per_s"])
                theirs.append(row["train_sentences_per_s"])
    return rates, paired


def spread(values: list[float]) -> str:
    """Mean ± sample standard deviation of scores in [0, 1], as percentages, with the number of runs."""
    if not values:
        return ""
    if len(values) == 1:
        return f"{pct(values[0])} (1)"
    return f"{pct(statistics.mean(values))} ± {100 * statistics.stdev(values):.2f} ({len(values)})"


def qa_section() -> list[str]:
    speed, epoch = rows_by_name("qa-*steps.json"), rows_by_name("qa-*epoch.json")
    if not speed and not epoch:
        return ["_SQuAD: not measured (python bench/qa.py)_", ""]
    head = "| System | Train features/s | bertkit is (same run) | EM / F1 after 1 epoch | Epoch time "
    head += "| Measured (speed / epoch) |"
    lines = [head, "|---|---|---|---|---|---|"]
    for name in sorted(set(speed) | set(epoch), key=lambda n: (n.startswith("bertkit"), n)):
        rate = speed.get(name, {}).get("train_features_per_s")
        row = epoch.get(name, {})
        scores = f"{row['eval']['exact_match']:.2f} / **{row['eval']['f1']:.2f}**" if "eval" in row else "not run"
        wall = row.get("train_wall_s") or row.get("run_wall_s")
        vs = run_ratio(speed.get(name), "train_features_per_s")
        when = f"{measured(speed.get(name))} / {measured(row)}"
        lines.append(
            f"| {name} | {rate or 0:.2f} | {vs} | {scores} | {f'{wall / 60:.0f} min' if wall else ''} | {when} |"
        )
    return [*lines, ""]


def measured(row: dict[str, Any] | None) -> str:
    """When the report a row comes from was written (UTC), or '-'."""
    if not row or "_file" not in row:
        return "-"
    report = json.loads((OUT / row["_file"]).read_text()) | {"_file": row["_file"]}
    return time.strftime("%m-%d %H:%M", time.gmtime(written_at(report)))


def recipes_section() -> list[str]:
    head = "| Recipe (shortened with --set) | Local corpus | Steps | Train samples/s | Held-out metrics | Wall time |"
    lines = [head, "|---|---|---|---|---|---|"]
    found = False
    for name in RECIPE_RUNS:
        for r in load(f"recipe-{name}.json")[-1:]:
            found = True
            v = r["validation"]
            shown = ", ".join(f"{k} {v[k]:.3f}" for k in ("perplexity", "accuracy", "nsp_accuracy") if k in v)
            settings = " ".join(f"`{s}`" for s in r["settings"])
            rate = train_rate(OUT / f"recipe-{name}" / "train_log.jsonl")
            cells = [f"`{r['recipe']}` {settings}", r["corpus"], str(r["steps"]), f"{rate:.1f}" if rate else ""]
            lines.append(f"| {' | '.join(cells)} | {shown} | {r['seconds']:.0f} s |")
    if not found:
        return ["_not measured (python bench/results.py --run --only mlm,pretraining)_", ""]
    return [*lines, ""]


def train_rate(log: Path) -> float | None:
    """Median training throughput of a run's logging windows (the first, with start-up, left out)."""
    if not log.is_file():
        return None
    events = [json.loads(line) for line in log.read_text().splitlines()]
    rates = [e["samples_per_second"] for e in events if e["event"] == "step" and "samples_per_second" in e]
    return statistics.median(rates[1:]) if len(rates) > 1 else None


def machine_lines() -> list[str]:

    import torch
    import transformers

    import bertkit

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"Machine: {cpu}, {os.cpu_count()} cores, no GPU; python {platform.python_version()}, torch "
        f"{torch.__version__}, transformers {transformers.__version__}, bertkit {bertkit.__version__}. "
        f"Table written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
    ]


def render() -> str:
    sections = [
        ("Quickstart (the README's command, offline)", quickstart_section),
        (
            "Inference: `bertkit classify` vs `transformers.pipeline('text-classification')` (bench/infer.py)",
            infer_section,
        ),
        ("SST-2, MiniLM-L6, batch 32, lr 5e-5, max length 128 (bench/finetune.py)", finetune_section),
        ("CoNLL-2003 NER, MiniLM-L6, batch 32, lr 5e-5, bf16, 1 epoch (bench/ner.py)", ner_section),
        ("SQuAD v1.1 (38 articles train / 10 eval), MiniLM-L6, batch 16, bf16, 1 epoch (bench/qa.py)", qa_section),
        ("Masked-LM and pre-training recipes on local corpora (short runs)", recipes_section),
    ]
    lines = ["# bertkit results", "", "Generated by `python bench/results.py` from the JSON the benchmarks saved in "]
    lines[-1] += "`bench/out/`; re-run everything with `python bench/results.py --run`. Every ratio compares runs "
    lines[-1] += "made on the same machine by the same benchmark script."
    lines += ["", *machine_lines()]
    for title, section in sections:
        lines += [f"## {title}", "", *section()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="store_true", help="run the benchmarks before writing the table")
    parser.add_argument("--only", default=",".join(RUNS), help=f"with --run: which ones ({', '.join(RUNS)})")
    parser.add_argument("--quickstart", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--recipe-run", choices=sorted(RECIPE_RUNS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.recipe_run:
        run_recipe(args.recipe_run)
        return
    if args.quickstart:
        run_quickstart()
        return
    if args.run:
        run_benchmarks([name.strip() for name in args.only.split(",")])
    text = render()
    TABLE.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
