"""What a batch order costs: bertkit's default (2 length chunks, one from each length range) against 2 chunks joined
at random (the default until 2026-11-26), interleaved in one training run on CoNLL-2003.

Whole-epoch runs made one after the other differ by up to 20% with the machine's state alone, which hides a
difference of a few percent between two batch orders. Here one `bertkit finetune` run (the bench/ner.py recipe)
trains on the batches of both orders in turn (A, B, A, B, ...; each order's full batches of one epoch), and the
time of each training step (forward, backward, clipping, optimizer) is summed per order. Both orders hold every
sentence once, so the sums compare the same work cut into batches two ways. Printed: each order's seconds and
the time ratio (default / joined at random), also over each half of the run.

    flock /tmp/bertkit-bench.lock python bench/ner_orders.py --seed 3     # ~4 min
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
import ner  # noqa: E402
from references.harness import machine  # noqa: E402

SKIP = 10  # first steps of the run (both orders) left out of the sums


def joined_at_random(lengths, batch_size: int, seed: int, epoch: int, *, mega_batches: int, chunks: int) -> list:
    """The batches of bertkit.training.sampling.epoch_batches as of 621be1d: chunks joined in random order."""
    import numpy as np

    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    lengths_arr = np.asarray(lengths)
    window = batch_size * max(1, mega_batches)
    parts = [order[i : i + window] for i in range(0, len(order), window)]
    order = np.concatenate([p[np.argsort(-lengths_arr[p], kind="stable")] for p in parts])
    size = max(1, batch_size // max(1, chunks))
    pieces = [order[i : i + size].tolist() for i in range(0, len(order), size)]
    full = pieces if len(pieces[-1]) == size else pieces[:-1]
    shuffled = [index for i in rng.permutation(len(full)) for index in full[i]]
    shuffled += [index for piece in pieces[len(full) :] for index in piece]
    return [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ner.DATA)
    parser.add_argument("--seed", type=int, default=ner.SEED)
    args = parser.parse_args()

    from bertkit.recipes.schema import Recipe
    from bertkit.training import loop, sampling
    from bertkit.training.api import finetune

    default_batches = sampling.epoch_batches

    def interleaved(lengths, batch_size, seed, epoch, *, group_by_length, mega_batches, chunks=1):
        ours = default_batches(
            lengths, batch_size, seed, epoch, group_by_length=group_by_length, mega_batches=mega_batches, chunks=chunks
        )
        theirs = joined_at_random(lengths, batch_size, seed, epoch, mega_batches=mega_batches, chunks=chunks)
        pairs = zip([b for b in ours if len(b) == batch_size], [b for b in theirs if len(b) == batch_size], strict=True)
        return [batch for pair in pairs for batch in pair]

    seconds: list[list[float]] = [[], []]  # per step: [default, joined at random]
    train_batch = loop.TrainingLoop.train_batch

    def timed(self, batch):
        step = self.state.global_step  # 0, 1, 2, ...: even steps train the default's batches
        started = time.perf_counter()
        train_batch(self, batch)
        if step >= SKIP:
            seconds[step % 2].append(time.perf_counter() - started)

    sampling.epoch_batches = interleaved
    loop.TrainingLoop.train_batch = timed
    from references.ner_trainer import read_conll

    steps = 2 * (len(read_conll(args.data / "train.txt")["tokens"]) // ner.BATCH)  # the full batches of both orders
    settings = argparse.Namespace(
        max_steps=steps,
        data=args.data,
        seed=args.seed,
        warmup_steps=SKIP,
        random_batches=False,
        no_speedups=False,
        length_chunks=None,
        mean_loss=False,
        attention_dropout=None,
    )
    recipe = Recipe.model_validate(ner.bertkit_recipe(settings, ner.OUT / "ner-orders"))
    finetune(recipe)
    ours, theirs = seconds
    half = min(len(ours), len(theirs)) // 2
    report = {
        "seed": args.seed,
        "steps_per_order": [len(ours), len(theirs)],
        "seconds": {"default": sum(ours), "joined_at_random": sum(theirs)},
        "time_ratio": sum(ours) / sum(theirs),
        "time_ratio_halves": [sum(ours[:half]) / sum(theirs[:half]), sum(ours[half:]) / sum(theirs[half:])],
        "machine": machine(),
    }
    ner.OUT.mkdir(parents=True, exist_ok=True)
    (ner.OUT / f"ner-orders-seed{args.seed}.json").write_text(json.dumps(report, indent=2))
    print(
        f"CoNLL-2003, seed {args.seed}: {len(ours)} steps of each order; default (one chunk per length range) "
        f"{sum(ours):.1f} s, chunks joined at random {sum(theirs):.1f} s: time ratio {report['time_ratio']:.4f} "
        f"(halves {report['time_ratio_halves'][0]:.4f}, {report['time_ratio_halves'][1]:.4f})"
    )


if __name__ == "__main__":
    main()
