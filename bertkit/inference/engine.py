"""The inference engine shared by every command and by ``bertkit evaluate``.

Features (already tokenized, unpadded) are sorted by length so each batch pads little, run under
``torch.inference_mode`` and the chosen autocast, reduced to small per-feature results right away (so memory
stays flat: no logits are kept), and handed back in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bertkit.modeling.device import autocast

Feature = dict[str, Any]  # "input_ids" (list[int]) and optionally "token_type_ids"
Reducer = Callable[[Any, dict[str, Any], Sequence[int]], list[Any]]

MODEL_INPUTS = ("input_ids", "token_type_ids")
DEFAULT_BATCH_SIZE = 32
DEFAULT_CHUNK = 4096  # features sorted together; bounds memory on huge inputs


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first (a too-long batch fails fast)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(features: Sequence[Feature], pad_id: int, device: Any, pad_to_multiple_of: int = 8) -> dict[str, Any]:
    """Pad a batch to its longest feature (rounded up for faster kernels) and build the attention mask."""
    import torch

    longest = max(len(f["input_ids"]) for f in features)
    if pad_to_multiple_of > 1:
        longest = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    n = len(features)
    input_ids = torch.full((n, longest), pad_id, dtype=torch.long)
    mask = torch.zeros((n, longest), dtype=torch.long)
    has_types = "token_type_ids" in features[0]
    types = torch.zeros((n, longest), dtype=torch.long) if has_types else None
    for row, feat in enumerate(features):
        ids = feat["input_ids"]
        input_ids[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        mask[row, : len(ids)] = 1
        if types is not None:
            types[row, : len(ids)] = torch.as_tensor(feat["token_type_ids"], dtype=torch.long)
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if types is not None:
        batch["token_type_ids"] = types
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class InferenceEngine:
    """Batched, length-sorted forward passes of one loaded model."""

    def __init__(self, loaded: Any, batch_size: int = DEFAULT_BATCH_SIZE, chunk_size: int = DEFAULT_CHUNK) -> None:
        self.loaded = loaded
        self.batch_size = max(1, int(batch_size))
        self.chunk_size = max(self.batch_size, int(chunk_size))
        pad = loaded.tokenizer.pad_token_id
        self.pad_id = 0 if pad is None else int(pad)
        self.accepts_token_types = "token_type_ids" in getattr(loaded.tokenizer, "model_input_names", MODEL_INPUTS)
        # Rounding lengths up to a multiple of 8 suits GPU tensor cores; on CPU it only adds padded tokens
        # (measured with bench/infer.py's texts: 5% more tokens and ~5% slower bf16 forwards than no rounding).
        self.pad_multiple = 8 if getattr(loaded.device, "type", "cpu") == "cuda" else 1

    def forward(self, batch: dict[str, Any]) -> Any:
        import torch

        if not self.accepts_token_types:
            batch.pop("token_type_ids", None)
        with torch.inference_mode(), autocast(self.loaded.device, self.loaded.precision):
            return self.loaded.model(**batch)

    def stream(self, features: Sequence[Feature], reduce: Reducer) -> Iterator[tuple[int, Any]]:
        """Yield ``(feature_index, reduced_result)``, in length order within chunks of ``chunk_size``."""
        for start in range(0, len(features), self.chunk_size):
            chunk = features[start : start + self.chunk_size]
            lengths = [len(f["input_ids"]) for f in chunk]
            for batch_ids in length_sorted_batches(lengths, self.batch_size):
                batch = collate([chunk[i] for i in batch_ids], self.pad_id, self.loaded.device, self.pad_multiple)
                outputs = self.forward(batch)
                global_ids = [start + i for i in batch_ids]
                yield from zip(global_ids, reduce(outputs, batch, global_ids), strict=True)

    def run(self, features: Sequence[Feature], reduce: Reducer) -> list[Any]:
        """Reduced results for every feature, in input order."""
        results: list[Any] = [None] * len(features)
        for index, result in self.stream(features, reduce):
            results[index] = result
        return results
