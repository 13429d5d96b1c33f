"""Batch order: seeded, the same on every process, resumable at any batch, with little padding.

Length grouping (as transformers' ``group_by_length``): shuffle, cut into mega-batches of ``mega_batches``
batches, sort each by length, cut into batches, then shuffle the batches so similar lengths share a batch but
the order stays random. With ``chunks`` > 1 the sorted mega-batches are cut into chunks of batch_size / chunks
instead, and each batch joins that many chunks from different places: every chunk holds similar lengths, but a
batch holds several kinds of sentence (short headlines and table rows, long prose) instead of one. Models whose
layers skip the padding (bertkit.modeling.packing) pay little for the mixed lengths. On CoNLL-2003 (one epoch, the
same 8 seeds, bench/ner.py) whole grouped batches scored 79.57 ± 0.54 test F1, 4 chunks 79.95 ± 0.58 and 2 chunks
79.97 ± 0.29; 2 chunks train about 5% faster than 4 (half the attention calls per layer), so token classification
uses 2.

The order depends only on (seed, epoch), never on a global RNG, so a resumed run sees the same batches and every
process agrees on them before Accelerate shards them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
    chunk = batch_size * max(1, mega_batches)
    parts = [order[i : i + chunk] for i in range(0, len(order), chunk)]
    order = np.concatenate([p[np.argsort(-lengths_arr[p], kind="stable")] for p in parts]) if parts else order
    size = max(1, batch_size // max(1, chunks))
    pieces = [order[i : i + size].tolist() for i in range(0, len(order), size)]
    full = pieces if not pieces or len(pieces[-1]) == size else pieces[:-1]
    shuffled = [index for i in rng.permutation(len(full)) for index in full[i]]
    shuffled += [index for piece in pieces[len(full) :] for index in piece]
    return [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)]


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
