"""NER benchmark: `bertkit finetune` (token-classification) vs a transformers.Trainer reference (run_ner.py style).

Both fine-tune the packaged all-MiniLM-L6-v2 on CoNLL-2003 (../shared/data/conll2003) with the same
hyperparameters (batch 32, lr 5e-5, linear decay, no warmup, seed 42, bf16 autocast on CPU, 1 epoch). Each run is
its own process, one after the other. Printed: train throughput (sentences/s, measured between the end of step
``--warmup-steps`` and the last step, evaluation excluded), the ratio to each reference, the padding share of the
batches, and with a full epoch (``--max-steps 0``) entity-level test precision/recall/F1 (seqeval for the
reference, bertkit's word-level scorer for bertkit).

    flock /tmp/bertkit-bench.lock python bench/ner.py --max-steps 200          # throughput only (~6 min)
    flock /tmp/bertkit-bench.lock python bench/ner.py --max-steps 0            # full epoch + test F1

Results also go to bench/out/ner-<runs>-<steps>-seed<seed>.json (kept in git: bench/results.py reads them).
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
DATA = Path(os.environ.get("BERTKIT_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "conll2003"
RUNS = ("reference", "reference-grouped", "bertkit", "bertkit-stock")  # bertkit-stock: training.speedups=false
# eager attention; TrainingArguments(torch_compile=True); training.length_chunks=1 / 4 (default: 2)
EXTRA_RUNS = ("reference-grouped-eager", "reference-grouped-compiled", "bertkit-whole-batches", "bertkit-4-chunks")
BATCH, LR, SEED = 32, 5e-5, 42


def bertkit_recipe(args: argparse.Namespace, out: Path) -> dict:
    full = args.max_steps <= 0
    data = {
        "train_file": str(args.data / "train.txt"),
        "validation_file": str(args.data / "dev.txt"),
        "format": "conll",
    }
    if full:
        data["test_file"] = str(args.data / "test.txt")
    else:
        data["max_eval_samples"] = 64  # the final validation pass is not what is measured here
    training = {
        "epochs": 1,
        "batch_size": BATCH,
        "eval_batch_size": 64,
        "learning_rate": LR,
        "seed": args.seed,
        "precision": "bf16",
        "logging_steps": args.warmup_steps,
    }
    if not full:
        training["max_steps"] = args.max_steps
    if args.random_batches:
        training["group_by_length"] = False
    if args.no_speedups:
        training["speedups"] = False
    if args.length_chunks is not None:
        training["length_chunks"] = args.length_chunks
    task = {"type": "token-classification", "max_length": 256, "stride": 64}
    if args.mean_loss:
        task["token_weighted_loss"] = False
    model = {"name": "minilm"}
    if args.attention_dropout is not None:
        model["attention_dropout"] = args.attention_dropout
    return {
        "name": "bench-ner",
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

    recipe = Recipe.model_validate(bertkit_recipe(args, OUT / "ner-bertkit"))
    elapsed: dict[int, float] = {}
    train_examples = []

    def on_event(event) -> None:
        if isinstance(event, StepLogged):
            elapsed[event.step] = event.elapsed_s
        if getattr(event, "kind", "") == "start":
            train_examples.append(event.train_examples)

    started = time.perf_counter()
    result = finetune(recipe, callbacks=[on_event])
    last, rate = step_throughput(elapsed, args.warmup_steps, BATCH, train_examples[0])
    suffix = "" if args.attention_dropout is None else f" (attention dropout {args.attention_dropout})"
    suffix += " (random batches)" if args.random_batches else ""
    suffix += " (speedups off)" if args.no_speedups else ""
    suffix += f" (length_chunks={args.length_chunks})" if args.length_chunks is not None else ""
    suffix += " (token_weighted_loss=false)" if args.mean_loss else ""
    row = {
        "name": "bertkit finetune" + suffix,
        "steps": last,
        "train_sentences_per_s": rate,
        "run_wall_s": time.perf_counter() - started,
    }
    if "test" in result.metrics:
        row["test"] = result.metrics["test"]
    return row


def padding_report(args: argparse.Namespace) -> dict:
    """Share of padded batch cells for random batches (the reference) and bertkit's length-grouped batches."""
    from references.ner_trainer import read_conll
    from transformers import AutoTokenizer

    from bertkit.modeling.hub import packaged_minilm_path
    from bertkit.training.sampling import epoch_batches, padding_share

    tokenizer = AutoTokenizer.from_pretrained(packaged_minilm_path())
    sentences = read_conll(args.data / "train.txt")["tokens"]
    lengths = [len(ids) for ids in tokenizer(sentences, is_split_into_words=True)["input_ids"]]
    shares = {}
    for name, grouped, chunks in (("random", False, 1), ("grouped", True, 1), ("grouped_2_chunks", True, 2)):
        batches = epoch_batches(lengths, BATCH, SEED, 0, group_by_length=grouped, mega_batches=50, chunks=chunks)
        shares[name] = padding_share(lengths, batches)
    return {"mean_tokens": sum(lengths) / len(lengths), "max_tokens": max(lengths), "padding_share": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--max-steps", type=int, default=200, help="0: one full epoch and test scores")
    parser.add_argument("--warmup-steps", type=int, default=10, help="first steps left out of the throughput")
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help=f"comma-separated, of: {', '.join(RUNS + EXTRA_RUNS)} (default: {', '.join(RUNS)})",
    )
    parser.add_argument("--attention-dropout", type=float, default=None, help="override in every run")
    parser.add_argument("--random-batches", action="store_true", help="bertkit without length grouping")
    parser.add_argument("--mean-loss", action="store_true", help="bertkit with task.token_weighted_loss=false")
    parser.add_argument("--seed", type=int, default=SEED, help="training seed of every run")
    parser.add_argument("--run-bertkit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-speedups", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--length-chunks", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_bertkit:
        print(json.dumps(run_bertkit(args)), flush=True)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    from bertkit.modeling.hub import packaged_minilm_path

    common = ["--warmup-steps", str(args.warmup_steps), "--seed", str(args.seed)]
    if args.attention_dropout is not None:
        common += ["--attention-dropout", str(args.attention_dropout)]
    bertkit_flags = ["--random-batches"] if args.random_batches else []
    bertkit_flags += ["--mean-loss"] if args.mean_loss else []
    reference = [sys.executable, str(HERE / "references" / "ner_trainer.py"), "--data", str(args.data)]
    reference += ["--model", str(packaged_minilm_path()), "--output", str(OUT / "ner-reference")]
    reference += [*common, "--max-steps", str(args.max_steps if args.max_steps > 0 else -1)]
    commands = {
        "reference": [*reference, "--sampling", "random"],
        "reference-grouped": [*reference, "--sampling", "group_by_length"],
        "bertkit": [
            *[sys.executable, str(Path(__file__).resolve()), "--run-bertkit", "--data", str(args.data), *common],
            *["--max-steps", str(args.max_steps), *bertkit_flags],
        ],
    }
    commands["reference-grouped-eager"] = [*commands["reference-grouped"], "--attn-implementation", "eager"]
    commands["reference-grouped-compiled"] = [*commands["reference-grouped"], "--torch-compile"]
    commands["bertkit-stock"] = [*commands["bertkit"], "--no-speedups"]
    commands["bertkit-whole-batches"] = [*commands["bertkit"], "--length-chunks", "1"]
    commands["bertkit-4-chunks"] = [*commands["bertkit"], "--length-chunks", "4"]
    rows = []
    for name in args.runs.split(","):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.append(run_process(commands[name.strip()]))
    rows = best_of(rows, "train_sentences_per_s")
    report = {"max_steps": args.max_steps, "seed": args.seed, "rows": rows, "padding": padding_report(args)}
    report["machine"] = machine()
    tag = "-".join(name.strip() for name in args.runs.split(","))
    tag += ("-epoch" if args.max_steps <= 0 else f"-{args.max_steps}steps") + f"-seed{args.seed}"
    tag += "-random-batches" if args.random_batches else ""
    tag += "-mean-loss" if args.mean_loss else ""
    (OUT / f"ner-{tag}.json").write_text(json.dumps(report, indent=2))
    print_report(report)


def print_report(report: dict) -> None:
    rows = report["rows"]
    print(
        f"CoNLL-2003 NER, MiniLM-L6, batch {BATCH}, lr {LR}, bf16, CPU ({report['machine']['torch_threads']} threads)"
    )
    padding = report["padding"]
    shares = padding["padding_share"]
    print(
        f"train tokens per sentence: mean {padding['mean_tokens']:.1f}, max {padding['max_tokens']}; padding share "
        f"of batches: random {shares['random']:.1%}, length-grouped {shares['grouped']:.1%}, "
        f"length-grouped in 2 chunks (bertkit's default; its layers skip the padding) "
        f"{shares.get('grouped_2_chunks', float('nan')):.1%}"
    )
    bertkit = bertkit_row(rows)
    for row in rows:
        line = f"  {row['name']:<62} {row['train_sentences_per_s']:7.1f} sentences/s over {row['steps']} steps"
        if bertkit is not None and row is not bertkit:
            line += f"   bertkit x{bertkit['train_sentences_per_s'] / row['train_sentences_per_s']:.2f}"
        if "test" in row:
            test = row["test"]
            line += f"   test P {test['precision']:.4f} R {test['recall']:.4f} F1 {test['f1']:.4f}"
        print(line)


if __name__ == "__main__":
    main()
