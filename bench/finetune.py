"""Fine-tuning speed and accuracy of `bertkit finetune` against transformers.Trainer, measured in the same run.

SST-2 (../shared/data/sst2) with the packaged MiniLM (`minilm`), batch 32, lr 5e-5, linear decay, no warmup,
max length 128, seed 42 for every system:

- bertkit: the engine behind `bertkit finetune` (recipe on the sst2 folder, precision auto, length grouping);
- bertkit-stock: the same with training.speedups=false (transformers' own forward passes and torch's dropout);
- trainer-default: transformers.Trainer as run_glue.py runs it by default (every text padded to 128, fp32);
- trainer-tuned: the same Trainer with its best CPU settings (dynamic padding, group_by_length, bf16).

Throughput: each system trains ``--steps`` optimizer steps (the slow default Trainer ``--default-steps``); samples
per second are measured between step ``--warmup-steps`` and the last step (steady state; the first steps build
kernels for new shapes), and over all steps. Accuracy (``--epoch``): one full epoch (67k examples) of bertkit and
of the tuned Trainer (the default one would need an hour), then accuracy on the 872 dev sentences.

Run it alone: flock /tmp/bertkit-bench.lock python bench/finetune.py [--epoch]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("BERTKIT_BENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "sst2"
BATCH, LR, SEED, MAX_LENGTH = 32, 5e-5, 42, 128


def read_tsv(name: str) -> tuple[list[str], list[int]]:
    with (DATA / f"{name}.tsv").open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        rows = [(text, int(label)) for text, label in reader]
    return [t for t, _ in rows], [y for _, y in rows]


def steady(times: dict[int, float], start: float, steps: int, warmup: int) -> tuple[float, float]:
    """(steady-state samples/s between step ``warmup`` and ``steps``, overall samples/s from ``start``)."""
    return (steps - warmup) * BATCH / (times[steps] - times[warmup]), steps * BATCH / (times[steps] - start)


# --------------------------------------------------------------------------------------------------- bertkit
def bertkit_recipe(out: Path, steps: int | None, logging_steps: int, speedups: bool = True):
    from bertkit.recipes.schema import Recipe

    training = {"batch_size": BATCH, "learning_rate": LR, "seed": SEED, "logging_steps": logging_steps}
    training["speedups"] = speedups
    training.update({"max_steps": steps} if steps else {"epochs": 1})
    return Recipe.model_validate(
        {
            "name": "bench-sst2-minilm",
            "model": {"name": "minilm"},
            "data": {"dataset": str(DATA)},
            "task": {"type": "text-classification", "max_length": MAX_LENGTH},
            "training": training,
            "evaluation": {"strategy": "no"},
            "output": {"dir": str(out)},
        }
    )


def run_bertkit(work: Path, steps: int | None, warmup: int, speedups: bool = True) -> dict:
    from bertkit.training.api import finetune
    from bertkit.training.events import RunStarted, StepLogged

    times: dict[int, float] = {}
    marks: dict[str, float] = {}

    def on_event(event) -> None:
        if isinstance(event, RunStarted):
            marks["start"] = time.perf_counter()
        elif isinstance(event, StepLogged):
            times[event.step] = time.perf_counter()
            marks["train_seconds"] = event.elapsed_s
            marks["steps"] = event.step

    shutil.rmtree(work / "bertkit", ignore_errors=True)
    recipe = bertkit_recipe(work / "bertkit", steps, 1 if steps else 100, speedups)
    result = finetune(recipe, callbacks=[on_event])
    out = {"metrics": result.metrics.get("validation", {}), "train_seconds": marks["train_seconds"]}
    if steps:
        out["steady"], out["overall"] = steady(times, marks["start"], steps, warmup)
    return out


# --------------------------------------------------------------------------------------------------- Trainer
def trainer_data(tokenizer, tuned: bool):
    """SST-2 train/dev for the Trainer: padded to 128 as run_glue.py does by default, or left for dynamic padding."""
    import datasets

    padding = False if tuned else "max_length"

    def encode(batch):
        return tokenizer(batch["sentence"], truncation=True, max_length=MAX_LENGTH, padding=padding)

    def dataset(name):
        texts, labels = read_tsv(name)
        raw = datasets.Dataset.from_dict({"sentence": texts, "label": labels})
        return raw.map(encode, batched=True, remove_columns=["sentence"])

    return dataset("train"), dataset("dev")


def trainer_arguments(work: Path, tuned: bool, steps: int | None):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(work / "trainer"),
        per_device_train_batch_size=BATCH,
        per_device_eval_batch_size=64,
        learning_rate=LR,
        seed=SEED,
        max_steps=steps or -1,
        num_train_epochs=1,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        logging_steps=100,
        use_cpu=True,
        disable_tqdm=True,
        bf16=tuned,
        train_sampling_strategy="group_by_length" if tuned else "random",
    )


def run_trainer(work: Path, tuned: bool, steps: int | None, warmup: int) -> dict:
    import numpy as np
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        default_data_collator,
    )

    from bertkit.modeling.hub import packaged_minilm_path

    path = str(packaged_minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    train, dev = trainer_data(tokenizer, tuned)
    torch.manual_seed(SEED)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    times: dict[int, float] = {}

    class StepTimes(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            times[state.global_step] = time.perf_counter()

    collator = DataCollatorWithPadding(tokenizer) if tuned else default_data_collator
    args = trainer_arguments(work, tuned, steps)
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=collator, callbacks=[StepTimes()])
    trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    trainer.train()
    out: dict = {"train_seconds": time.perf_counter() - start}
    if steps:
        out["steady"], out["overall"] = steady(times, start, steps, warmup)
    else:
        predictions = trainer.predict(dev)
        # label_ids come back in the order of the predictions (not necessarily the dataset's row order)
        accuracy = float((np.argmax(predictions.predictions, axis=-1) == predictions.label_ids).mean())
        out["metrics"] = {"accuracy": accuracy}
    return out


# ------------------------------------------------------------------------------------------------------ main
def quiet() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from bertkit.cli.common import quiet_libraries

    quiet_libraries()


def run_system(system: str, work: Path, steps: int | None, warmup: int) -> dict:
    if system.startswith("bertkit"):
        return run_bertkit(work, steps, warmup, speedups=system == "bertkit")
    return run_trainer(work, system == "trainer-tuned", steps, warmup)


def in_subprocess(system: str, work: Path, steps: int | None, warmup: int) -> dict:
    """Each measurement in a fresh process: no warm kernels, allocator settings or threads carried over."""
    import subprocess
    import sys

    result_file = work / f"{system}.json"
    command = [
        sys.executable,
        __file__,
        "--system",
        system,
        "--warmup-steps",
        str(warmup),
        "--result",
        str(result_file),
    ]
    command += ["--steps", str(steps)] if steps else ["--epoch"]
    subprocess.run(command, check=True)
    return json.loads(result_file.read_text())


def throughput(work: Path, args) -> dict:
    results: dict = {}
    for system in args.only.split(","):
        steps = args.default_steps if system == "trainer-default" else args.steps
        r = in_subprocess(system, work, steps, args.warmup_steps)
        results.setdefault(system, []).append(r)
        print(f"  {system:16s} steady {r['steady']:7.1f} samples/s   overall {r['overall']:7.1f} samples/s", flush=True)
    return {system: best_of(runs) for system, runs in results.items()}


def best_of(runs: list[dict]) -> dict:
    """With repeated runs of a system (``--only a,b,a,b``), keep its fastest: the least disturbed by other load."""
    return max(runs, key=lambda r: r["steady"])


def ratios(results: dict) -> None:
    if "bertkit" not in results:
        return
    for other in ("trainer-default", "trainer-tuned", "bertkit-stock"):
        if other in results:
            steady = results["bertkit"]["steady"] / results[other]["steady"]
            overall = results["bertkit"]["overall"] / results[other]["overall"]
            print(f"  bertkit / {other}: {steady:.2f}x steady, {overall:.2f}x overall")


def accuracy(work: Path) -> dict:
    results = {system: in_subprocess(system, work, None, 0) for system in ("bertkit", "trainer-tuned")}
    for system, r in results.items():
        print(f"  {system:16s} dev accuracy {r['metrics']['accuracy']:.4f}   epoch time {r['train_seconds']:.0f}s")
    delta = results["bertkit"]["metrics"]["accuracy"] - results["trainer-tuned"]["metrics"]["accuracy"]
    print(f"  bertkit - trainer-tuned: {100 * delta:+.2f} points")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps for bertkit and the tuned Trainer")
    parser.add_argument("--default-steps", type=int, default=30, help="steps for the (slow) default Trainer")
    parser.add_argument("--warmup-steps", type=int, default=10, help="steps left out of the steady-state rate")
    parser.add_argument("--only", default="bertkit,trainer-default,trainer-tuned", help="systems to measure")
    parser.add_argument("--epoch", action="store_true", help="also train one full epoch and compare dev accuracy")
    parser.add_argument("--json", type=Path, help="write the measurements to this file")
    parser.add_argument("--system", help=argparse.SUPPRESS)  # internal: measure one system in this process
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet()
    if args.system:
        with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
            steps = None if args.epoch else args.steps
            args.result.write_text(json.dumps(run_system(args.system, Path(tmp), steps, args.warmup_steps)))
        return
    import torch

    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    report: dict = {"steps": args.steps, "warmup_steps": args.warmup_steps}
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        work = Path(tmp)
        print(f"Throughput (batch {BATCH}, steady state after step {args.warmup_steps}):", flush=True)
        report["throughput"] = throughput(work, args)
        ratios(report["throughput"])
        if args.epoch:
            print("Accuracy after one epoch on the full train set (67,349 examples):", flush=True)
            report["accuracy"] = accuracy(work)
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
