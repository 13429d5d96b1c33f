"""Extractive-QA benchmark: `bertkit finetune` (question-answering) vs a transformers.Trainer reference (run_qa.py).

SQuAD v1.1 dev (../shared/data/squad/dev-v1.1.json; the train file is not available here) split by article: the
first 38 articles train (8,582 questions), the last 10 evaluate (1,988). Same hyperparameters everywhere: packaged
all-MiniLM-L6-v2, max_length 384, doc stride 128, batch 16, lr 5e-5, linear decay, no warmup, seed 42, bf16
autocast on CPU, 1 epoch; n-best 20, max answer length 30. Each configuration runs in its own process, one after
the other. Printed: train throughput (features/s between the end of step ``--warmup-steps`` and the last step,
evaluation excluded), the estimated epoch time, ratios, the padding share, and with a full epoch (``--max-steps 0``)
exact match / F1 (official SQuAD v1.1 normalisation) on the 10 held-out articles.

Runs: ``reference`` (run_qa.py defaults: every feature padded to 384, random order), ``reference-best`` (the best
Trainer settings on CPU: dynamic padding + group_by_length), ``reference-best-eager`` (the same with
``attn_implementation="eager"``), ``bertkit`` (bertkit's defaults).
``--attention-dropout P`` sets the model's attention dropout in every run (0 lets PyTorch's CPU flash-attention
kernel run; with dropout > 0 the CPU SDPA falls back to the unfused math path).

    flock /tmp/bertkit-bench.lock python bench/qa.py --max-steps 60                 # throughput (~15 min)
    nohup flock /tmp/bertkit-bench.lock python bench/qa.py --max-steps 0 --runs reference > bench/out/qa-ref.log &

Results also go to bench/out/qa-<runs>.json (kept in git: bench/results.py reads them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from references.harness import bertkit_row, best_of, machine, run_process, step_throughput  # noqa: E402

OUT = HERE / "out"
SHARED = Path(os.environ.get("BERTKIT_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SQUAD = SHARED / "squad" / "dev-v1.1.json"
RUNS = ("reference", "reference-best", "bertkit", "bertkit-stock")  # bertkit-stock: training.speedups=false
EXTRA_RUNS = ("reference-best-eager",)  # the tuned Trainer with eager attention
TRAIN_ARTICLES = 38
BATCH, LR, SEED = 16, 5e-5, 42


def split_by_article(source: Path, folder: Path) -> tuple[Path, Path]:
    """The first 38 articles as a training file, the rest as an evaluation file (nested SQuAD JSON)."""
    data = json.loads(source.read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    train, evaluation = folder / "train-38-articles.json", folder / "eval-10-articles.json"
    for path, articles in ((train, data["data"][:TRAIN_ARTICLES]), (evaluation, data["data"][TRAIN_ARTICLES:])):
        path.write_text(json.dumps({"version": data.get("version", "1.1"), "data": articles}))
    return train, evaluation


def bertkit_recipe(args: argparse.Namespace, out: Path) -> dict:
    full = args.max_steps <= 0
    data = {"train_file": str(args.train_file), "validation_file": str(args.eval_file)}
    training = {
        "epochs": 1,
        "batch_size": BATCH,
        "eval_batch_size": 64,
        "learning_rate": LR,
        "seed": SEED,
        "precision": "bf16",
        "logging_steps": args.warmup_steps,
    }
    if args.no_speedups:
        training["speedups"] = False
    if not full:
        training["max_steps"] = args.max_steps
        data["max_eval_samples"] = 32  # the final evaluation is not what is measured here
    model = {"name": "minilm"}
    if args.attention_dropout is not None:
        model["attention_dropout"] = args.attention_dropout
    task = {"type": "question-answering", "max_length": 384, "doc_stride": 128, "n_best": 20, "max_answer_length": 30}
    return {
        "name": "bench-qa",
        "model": model,
        "data": data,
        "task": task,
        "training": training,
        "evaluation": {"strategy": "no", "report": False},
        "output": {"dir": str(out), "overwrite": True},
    }


def run_bertkit(args: argparse.Namespace) -> dict:
    from bertkit.recipes.schema import Recipe
    from bertkit.training.api import finetune
    from bertkit.training.events import StepLogged

    recipe = Recipe.model_validate(bertkit_recipe(args, OUT / "qa-bertkit"))
    elapsed: dict[int, float] = {}
    features: list[int] = []

    def on_event(event) -> None:
        if isinstance(event, StepLogged):
            elapsed[event.step] = event.elapsed_s
        if getattr(event, "kind", "") == "start":
            features.append(event.train_examples)

    started = time.perf_counter()
    result = finetune(recipe, callbacks=[on_event])
    last, rate = step_throughput(elapsed, args.warmup_steps, BATCH, features[0])
    suffix = "" if args.attention_dropout is None else f" (attention dropout {args.attention_dropout})"
    suffix += " (speedups off)" if args.no_speedups else ""
    row = {
        "name": "bertkit finetune" + suffix,
        "steps": last,
        "train_features": features[0],
        "train_features_per_s": rate,
        "run_wall_s": time.perf_counter() - started,
    }
    if args.max_steps <= 0:
        validation = result.metrics["validation"]
        row["eval"] = {"exact_match": 100 * validation["exact_match"], "f1": 100 * validation["f1"]}
    return row


def padding_report(train_file: Path) -> dict:
    """Padding share of padded-to-384 batches, of random dynamic batches and of bertkit's length-grouped ones."""
    from references.qa_trainer import flatten_squad
    from transformers import AutoTokenizer

    from bertkit.modeling.hub import packaged_minilm_path
    from bertkit.tasks.windows import qa_features
    from bertkit.training.sampling import epoch_batches, padding_share

    rows = flatten_squad(train_file)
    tokenizer = AutoTokenizer.from_pretrained(packaged_minilm_path())
    features = qa_features(tokenizer, rows["question"], rows["context"], max_length=384, doc_stride=128)
    lengths = [len(f.input_ids) for f in features]
    shares = {"padded to 384": 1 - sum(lengths) / (384 * len(lengths))}
    for name, grouped in (("random, dynamic", False), ("length-grouped", True)):
        batches = epoch_batches(lengths, BATCH, SEED, 0, group_by_length=grouped, mega_batches=50)
        shares[name] = padding_share(lengths, batches)
    return {"features": len(lengths), "mean_tokens": sum(lengths) / len(lengths), "padding_share": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--max-steps", type=int, default=60, help="0: one full epoch and evaluation scores")
    parser.add_argument("--warmup-steps", type=int, default=5, help="first steps left out of the throughput")
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help=f"comma-separated, of: {', '.join(RUNS + EXTRA_RUNS)} (default: {', '.join(RUNS)})",
    )
    parser.add_argument("--attention-dropout", type=float, default=None, help="override in every run")
    parser.add_argument("--run-bertkit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-speedups", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--train-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--eval-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_bertkit:
        print(json.dumps(run_bertkit(args)), flush=True)
        return
    train_file, eval_file = split_by_article(args.squad, OUT / "squad")
    from bertkit.modeling.hub import packaged_minilm_path

    common = ["--warmup-steps", str(args.warmup_steps)]
    if args.attention_dropout is not None:
        common += ["--attention-dropout", str(args.attention_dropout)]
    steps = str(args.max_steps if args.max_steps > 0 else -1)
    reference = [sys.executable, str(HERE / "references" / "qa_trainer.py"), "--model", str(packaged_minilm_path())]
    reference += ["--train-file", str(train_file), "--eval-file", str(eval_file), "--output", str(OUT / "qa-ref")]
    reference += [*common, "--max-steps", steps, "--batch-size", str(BATCH)]
    files = ["--train-file", str(train_file), "--eval-file", str(eval_file)]
    commands = {
        "reference": reference,
        "reference-best": [*reference, "--dynamic-padding", "--sampling", "group_by_length"],
        "bertkit": [sys.executable, str(Path(__file__).resolve()), "--run-bertkit", *files, *common],
    }
    commands["bertkit"] += ["--max-steps", str(args.max_steps)]
    commands["reference-best-eager"] = [*commands["reference-best"], "--attn-implementation", "eager"]
    commands["bertkit-stock"] = [*commands["bertkit"], "--no-speedups"]
    names = [name.strip() for name in args.runs.split(",")]
    rows = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.append(run_process(commands[name]))
    rows = best_of(rows, "train_features_per_s")
    report = {"max_steps": args.max_steps, "rows": rows, "padding": padding_report(train_file), "machine": machine()}
    OUT.mkdir(parents=True, exist_ok=True)
    tag = "-".join(names) + ("-epoch" if args.max_steps <= 0 else f"-{args.max_steps}steps")
    (OUT / f"qa-{tag}.json").write_text(json.dumps(report, indent=2))
    print_report(report)


def print_report(report: dict) -> None:
    rows, padding = report["rows"], report["padding"]
    print(f"SQuAD v1.1 by article (38 train / 10 eval), MiniLM-L6, batch {BATCH}, lr {LR}, bf16, CPU")
    shares = ", ".join(f"{name} {share:.1%}" for name, share in padding["padding_share"].items())
    print(f"bertkit features: {padding['features']}, mean {padding['mean_tokens']:.0f} tokens; padding share: {shares}")
    bertkit = bertkit_row(rows)
    for row in rows:
        rate = row["train_features_per_s"]
        epoch_min = row["train_features"] / rate / 60
        line = f"  {row['name']:<66} {rate:6.2f} features/s ({row['steps']} steps; epoch ~{epoch_min:.0f} min)"
        if bertkit is not None and row is not bertkit:
            line += f"   bertkit x{bertkit['train_features_per_s'] / rate:.2f}"
        if "eval" in row:
            line += f"   EM {row['eval']['exact_match']:.2f} F1 {row['eval']['f1']:.2f}"
        print(line)


if __name__ == "__main__":
    main()
