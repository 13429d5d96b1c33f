"""Masked-LM masking, as in BERT: select ``mlm_probability`` of the tokens (or of the words, with whole-word
masking), replace ``mask_replace_prob`` of them by [MASK], ``random_replace_prob`` by a random token and leave
the rest unchanged. Labels are -100 everywhere except at selected positions, where they hold the original token.

Special tokens and padding are never selected. Every row draws its random numbers from its own
``torch.Generator`` seeded by (seed, epoch, example id) and only over its real length, so a row's mask does not
depend on which batch it lands in, how long the batch pads, the device or the number of processes: runs are
reproducible, resumable at any batch and identical across batch sizes. A row with maskable tokens always gets at
least one selected word, so no batch has an undefined (all -100) loss.

Whole-word masking groups a word's pieces with ``word_ids`` from a fast tokenizer when the features carry them,
else with the WordPiece convention (a piece starting with ``##`` continues the previous token's word).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bertkit.errors import ModelLoadError

IGNORE_INDEX = -100  # labels at positions that are not predicted (PyTorch cross-entropy's ignore_index)
NO_WORD = -1  # word id of special tokens in ``word_ids`` features
CONTINUATION_PREFIX = "##"
MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class MaskingSpec:
    mlm_probability: float = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    whole_word_masking: bool = False

    @classmethod
    def from_task(cls, spec: Any) -> MaskingSpec:
        """From a recipe task section (masked-lm has all fields; pretraining keeps BERT's 80/10/10)."""
        defaults = cls()
        return cls(
            mlm_probability=float(spec.mlm_probability),
            mask_replace_prob=float(getattr(spec, "mask_replace_prob", defaults.mask_replace_prob)),
            random_replace_prob=float(getattr(spec, "random_replace_prob", defaults.random_replace_prob)),
            whole_word_masking=bool(spec.whole_word_masking),
        )


def mix64(value: int) -> int:
    """SplitMix64 finaliser: a well-spread 64-bit hash of a 64-bit integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def row_seed(seed: int, epoch: int, example_id: int) -> int:
    """The generator seed of one row: distinct (seed, epoch, example) triples give unrelated streams."""
    state = mix64(int(seed) & MASK64)
    state = mix64(state ^ (int(epoch) & MASK64))
    state = mix64(state ^ (int(example_id) & MASK64))
    return state >> 1  # torch.Generator.manual_seed takes values below 2**63 without wrapping


class TokenMasker:
    """Selects and replaces tokens of a batch. Build it with :meth:`for_tokenizer`."""

    def __init__(
        self,
        spec: MaskingSpec,
        *,
        mask_token_id: int,
        vocab_size: int,
        special_ids: Iterable[int],
        continuation_ids: Iterable[int] = (),
    ) -> None:
        import torch

        self.spec = spec
        self.mask_token_id = int(mask_token_id)
        special = sorted({int(i) for i in special_ids} | {self.mask_token_id})
        size = max(int(vocab_size), max(special) + 1)
        self.is_special = torch.zeros(size, dtype=torch.bool)
        self.is_special[special] = True
        self.is_continuation = torch.zeros(size, dtype=torch.bool)
        continuation = [int(i) for i in continuation_ids]
        if continuation:
            self.is_continuation[continuation] = True
        # Random replacements are real tokens of the vocabulary, never [CLS], [SEP], [PAD] or [MASK].
        self.replacement_ids = torch.nonzero(~self.is_special[: int(vocab_size)]).flatten()
        if self.replacement_ids.numel() == 0:
            raise ModelLoadError("the tokenizer has no ordinary tokens to use as random replacements")
        self._generator: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_generator"] = None  # re-created in each DataLoader worker
        return state

    @property
    def generator(self) -> Any:
        if self._generator is None:
            import torch

            self._generator = torch.Generator()
        return self._generator

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, spec: MaskingSpec) -> TokenMasker:
        if tokenizer.mask_token_id is None:
            raise ModelLoadError(
                "the tokenizer has no mask token, so masked-LM training is not possible",
                hint="Use a tokenizer with a [MASK] (or <mask>) token, e.g. a BERT, RoBERTa or MiniLM model.",
            )
        vocab = tokenizer.get_vocab()
        continuation = [i for token, i in vocab.items() if token.startswith(CONTINUATION_PREFIX) and len(token) > 2]
        return cls(
            spec,
            mask_token_id=tokenizer.mask_token_id,
            vocab_size=len(tokenizer),
            special_ids=tokenizer.all_special_ids,
            continuation_ids=continuation,
        )

    @property
    def knows_continuations(self) -> bool:
        return bool(self.is_continuation.any())

    # ------------------------------------------------------------------------------------------- words
    def candidates(self, input_ids: Any, lengths: Any) -> Any:
        """(B, L) bool: real (unpadded) positions holding non-special tokens."""
        import torch

        real = torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]
        return real & ~lookup(self.is_special, input_ids)

    def word_index(self, input_ids: Any, candidates: Any, word_ids: Any = None) -> Any:
        """(B, L) long: the index of each candidate's word within its row (-1 for non-candidates).

        Tokens are their own words unless whole-word masking is on; then a word is a run of candidates with the
        same ``word_ids`` value, or (without word ids) a token followed by its ``##`` continuations."""
        import torch

        if not self.spec.whole_word_masking:
            starts = candidates
        else:
            previous_candidate = torch.zeros_like(candidates)
            previous_candidate[:, 1:] = candidates[:, :-1]
            if word_ids is not None:
                same_word = torch.zeros_like(candidates)
                same_word[:, 1:] = (word_ids[:, 1:] == word_ids[:, :-1]) & (word_ids[:, 1:] != NO_WORD)
            else:
                same_word = lookup(self.is_continuation, input_ids)
            starts = candidates & ~(same_word & previous_candidate)
        index = torch.cumsum(starts.long(), dim=1) - 1
        return torch.where(candidates, index, torch.full_like(index, -1))

    # ----------------------------------------------------------------------------------------- masking
    def draws(self, lengths: Sequence[int], seeds: Sequence[int], width: int) -> tuple[Any, Any, Any]:
        """Per-row uniforms for selection and replacement and random-token picks, drawn over each real length."""
        import torch

        rows = len(lengths)
        select = torch.ones(rows, width)
        replace = torch.ones(rows, width)
        random_pick = torch.zeros(rows, width, dtype=torch.long)
        generator, pool = self.generator, self.replacement_ids.numel()
        for row, (length, seed) in enumerate(zip(lengths, seeds, strict=True)):
            n = int(length)
            generator.manual_seed(int(seed))
            uniforms = torch.rand(2, n, generator=generator)
            select[row, :n] = uniforms[0]
            replace[row, :n] = uniforms[1]
            random_pick[row, :n] = torch.randint(pool, (n,), generator=generator)
        return select, replace, random_pick

    def mask(self, input_ids: Any, lengths: Any, seeds: Sequence[int], word_ids: Any = None) -> tuple[Any, Any]:
        """Masked copies of ``input_ids`` (B, L) and the labels; ``lengths`` (B,) are the unpadded lengths."""
        import torch

        spec = self.spec
        candidates = self.candidates(input_ids, lengths)
        words = self.word_index(input_ids, candidates, word_ids)
        select_u, replace_u, random_pick = self.draws(lengths.tolist(), seeds, input_ids.shape[1])
        # A word is selected by the uniform drawn at its index: every piece of a word shares one draw.
        word_u = torch.gather(select_u, 1, words.clamp(min=0))
        word_u = torch.where(candidates, word_u, torch.full_like(word_u, 2.0))
        selected = word_u < spec.mlm_probability
        # At least one word per row, so that no batch has an all-ignored (NaN) loss.
        empty = ~selected.any(dim=1) & candidates.any(dim=1)
        if empty.any():
            lowest = word_u.min(dim=1, keepdim=True).values
            selected |= empty[:, None] & (word_u == lowest) & candidates
        labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
        to_mask = selected & (replace_u < spec.mask_replace_prob)
        to_random = (
            selected
            & (replace_u >= spec.mask_replace_prob)
            & (replace_u < spec.mask_replace_prob + spec.random_replace_prob)
        )
        masked = torch.where(to_mask, torch.full_like(input_ids, self.mask_token_id), input_ids)
        masked = torch.where(to_random, lookup(self.replacement_ids, random_pick), masked)
        return masked, labels

    def mask_rows(
        self, rows: Sequence[Sequence[int]], seeds: Sequence[int], word_ids: Sequence[Sequence[int]] | None = None
    ) -> tuple[list[list[int]], list[list[int]]]:
        """Unpadded convenience form of :meth:`mask` (lists in, lists out)."""
        import torch

        lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
        width = int(lengths.max()) if len(rows) else 0
        ids = torch.tensor([list(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long)
        words = None
        if word_ids is not None:
            words = torch.tensor([list(w) + [NO_WORD] * (width - len(w)) for w in word_ids], dtype=torch.long)
        masked, labels = self.mask(ids, lengths, seeds, words)
        return (
            [m[:n].tolist() for m, n in zip(masked, lengths.tolist(), strict=True)],
            [lab[:n].tolist() for lab, n in zip(labels, lengths.tolist(), strict=True)],
        )


def lookup(table: Any, ids: Any) -> Any:
    """``table[ids]`` for a 1-D table; ``index_select`` is two orders of magnitude faster than advanced indexing on
    CPU here. Ids outside the table (never produced by the tokenizer) read its last entry."""
    flat = ids.reshape(-1).clamp(0, table.numel() - 1)
    return table.index_select(0, flat).view(ids.shape)
