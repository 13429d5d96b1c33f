"""Batch order: seeded, the same on every process, resumable at any batch, with little padding.

Length grouping (as transformers' ``group_by_length``): shuffle, cut into mega-batches of ``mega_batches``
batches, sort each by length, cut into batches, then shuffle the batches so similar lengths share a batch but
the order stays random. With ``chunks`` > 1 each sorted mega-batch is cut into that many length ranges (longest
first), each range into chunks of batch_size / chunks, and each batch joins one chunk of every range: every chunk
holds similar lengths, but a batch holds several kinds of sentence (long prose and short headlines or table rows)
instead of one. Models whose layers skip the padding (bertkit.modeling.packing) pay little for the mixed lengths.

On CoNLL-2003 (one epoch, bench/ner.py; the run_ner-style Trainer with random batches scored 80.09 ± 0.37 test F1
over seeds 42 and 1-17): whole grouped batches scored 79.57 ± 0.54 (eight seeds); 2 chunks joined at random,
whatever their ranges, 79.81 ± 0.37 (the eighteen seeds); 2 chunks, one from each range, 79.99 ± 0.40 (the same
eighteen) at the same speed (the two orders interleaved in one run, bench/ner_orders.py: time ratio 0.998-1.003).
4 chunks make one attention call per chunk and layer, about 5% slower than 2, so token classification uses 2.

The order depends only on (seed, epoch), never on a global RNG, so a resumed run sees the same batches and every
process agrees on them before Accelerate shards them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

DEFAULT_MEGA_BATCHES = 50


def epoch_batches(
    lengths: Sequence[int],
    batch_size: int,
    seed: int,
    epoch: int,
    *,
    group_by_length: bool,
    mega_batches: int,
    chunks: int = 1,
) -> list[list[int]]:
    """The batches (lists of example indices) of one epoch; only the last one may be short."""
    import numpy as np

    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if not group_by_length:
        return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    lengths_arr = np.asarray(lengths)
    window = batch_size * max(1, mega_batches)
    parts = [order[i : i + window] for i in range(0, len(order), window)]
    ranked = [p[np.argsort(-lengths_arr[p], kind="stable")] for p in parts]
    if min(chunks, batch_size) > 1:
        return _ranged_batches(ranked, batch_size, min(chunks, batch_size), rng)
    order = np.concatenate(ranked) if ranked else order
    pieces = [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    full = pieces if not pieces or len(pieces[-1]) == batch_size else pieces[:-1]
    shuffled = [index for i in rng.permutation(len(full)) for index in full[i]]
    shuffled += [index for piece in pieces[len(full) :] for index in piece]
    return [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)]


def _ranged_batches(ranked: list, batch_size: int, chunks: int, rng: Any) -> list[list[int]]:
    """Batches of one chunk from each of ``chunks`` length ranges of the sorted mega-batches ``ranked``; the chunks
    left over (ranges of unequal sizes, a short last mega-batch) fill the last batches. When batch_size is not a
    multiple of chunks, batches are cut from the joined chunks one after the other."""
    size = batch_size // chunks
    ranges: list[list[list[int]]] = [[] for _ in range(chunks)]
    rest: list[list[int]] = []
    for part in ranked:
        pieces = [part[i : i + size].tolist() for i in range(0, len(part), size)]
        full = [piece for piece in pieces if len(piece) == size]
        rest += pieces[len(full) :]
        for k, piece in enumerate(full):  # longest first: range 0 holds the longest
            ranges[k * chunks // len(full)].append(piece)
    shuffled = [[pieces[i] for i in rng.permutation(len(pieces))] for pieces in ranges]
    joined = min(len(pieces) for pieces in shuffled)
    batches = [[index for pieces in shuffled for index in pieces[j]] for j in range(joined)]
    flat = [index for i in rng.permutation(len(batches)) for index in batches[i]]
    left = [piece for pieces in shuffled for piece in pieces[joined:]]
    flat += [index for i in rng.permutation(len(left)) for index in left[i]] + [i for piece in rest for i in piece]
    return [flat[i : i + batch_size] for i in range(0, len(flat), batch_size)]


class LengthGroupedSampler:
    """A torch ``Sampler`` of example indices whose consecutive ``batch_size`` runs form the epoch's batches."""

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        seed: int,
        *,
        group_by_length: bool = True,
        mega_batches: int = DEFAULT_MEGA_BATCHES,
        chunks: int = 1,
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.mega_batches = mega_batches
        self.chunks = chunks
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def batches(self) -> list[list[int]]:
        return epoch_batches(
            self.lengths,
            self.batch_size,
            self.seed,
            self.epoch,
            group_by_length=self.group_by_length,
            mega_batches=self.mega_batches,
            chunks=self.chunks,
        )

    def __iter__(self) -> Iterator[int]:
        for batch in self.batches():
            yield from batch

    def __len__(self) -> int:
        return len(self.lengths)


def padding_share(lengths: Sequence[int], batches: Sequence[Sequence[int]], multiple: int = 1) -> float:
    """Share of the padded batch cells that are padding (a measure of wasted compute)."""
    real = padded = 0
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        longest = -(-longest // multiple) * multiple
        real += sum(lengths[i] for i in batch)
        padded += longest * len(batch)
    return 1.0 - real / padded if padded else 0.0


def longest_first(lengths: Sequence[int]) -> list[int]:
    """Evaluation order: longest first, so a batch that does not fit in memory fails at once."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])
