"""Fill-mask: the most likely tokens for each mask in a text (several masks allowed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import InputError
from bertkit.inference.engine import InferenceEngine

GENERIC_MASK = "[MASK]"


@dataclass
class TokenPrediction:
    token: str
    token_id: int
    score: float
    sequence: str


@dataclass
class MaskPredictions:
    index: int  # position of the mask among the text's masks, from 0
    predictions: list[TokenPrediction] = field(default_factory=list)


@dataclass
class FillMaskResult:
    text: str
    masks: list[MaskPredictions]


def normalize_masks(text: str, mask_token: str) -> str:
    """Accept ``[MASK]`` for models whose own mask token differs (RoBERTa's ``<mask>``)."""
    return text.replace(GENERIC_MASK, mask_token) if mask_token != GENERIC_MASK else text


def resolve_targets(tokenizer: Any, targets: Sequence[str]) -> tuple[list[int], list[str]]:
    """Vocabulary ids for ``targets``; a word that is not one token uses its first token, with a note."""
    vocab = tokenizer.get_vocab()
    ids: list[int] = []
    notes: list[str] = []
    for target in targets:
        token_id = vocab.get(target)
        if token_id is None:
            pieces = tokenizer(target, add_special_tokens=False)["input_ids"]
            if not pieces or pieces[0] == tokenizer.unk_token_id:
                raise InputError(f"--targets: '{target}' is not in the model's vocabulary")
            token_id = pieces[0]
            notes.append(f"target '{target}' is not one token; using '{tokenizer.convert_ids_to_tokens(token_id)}'")
        if token_id not in ids:
            ids.append(token_id)
    return ids, notes


def encode_masked_texts(loaded: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    tokenizer = loaded.tokenizer
    mask = tokenizer.mask_token
    if mask is None or tokenizer.mask_token_id is None:
        raise InputError(f"model '{loaded.source.name}' has no mask token, so it cannot fill masks")
    features = []
    for number, text in enumerate(texts, 1):
        encoded = tokenizer(normalize_masks(text, mask), truncation=False)
        ids = encoded["input_ids"]
        if tokenizer.mask_token_id not in ids:
            raise InputError(
                f"input {number} has no mask token: {text[:80]!r}",
                hint=f"Write {mask} where the missing word goes"
                + (f" (or {GENERIC_MASK})." if mask != GENERIC_MASK else "."),
            )
        if len(ids) > loaded.max_length:
            raise InputError(
                f"input {number} is {len(ids)} tokens long; model '{loaded.source.name}' takes at most "
                f"{loaded.max_length}",
                hint="Shorten the text around the mask.",
            )
        features.append(dict(encoded))
    return features


def fill_mask(
    loaded: Any,
    texts: Sequence[str],
    *,
    top_k: int = 5,
    targets: Sequence[str] | None = None,
    batch_size: int = 32,
) -> list[FillMaskResult]:
    """Top-``top_k`` predictions for every mask of every text, scores as in ``transformers.pipeline``."""
    import torch

    if top_k < 1:
        raise InputError("--top-k must be at least 1")
    tokenizer = loaded.tokenizer
    target_ids, _ = resolve_targets(tokenizer, targets) if targets else (None, [])
    features = encode_masked_texts(loaded, texts)
    mask_id = tokenizer.mask_token_id
    k = min(top_k, len(target_ids)) if target_ids else top_k

    def reduce(outputs: Any, batch: dict[str, Any], ids: Sequence[int]) -> list[Any]:
        rows = []
        for row in range(len(ids)):
            positions = (batch["input_ids"][row] == mask_id).nonzero().flatten()
            probs = outputs.logits[row, positions].float().softmax(dim=-1)
            if target_ids:
                probs = probs[:, torch.as_tensor(target_ids, device=probs.device)]
            values, indices = probs.topk(k, dim=-1)
            rows.append((positions.tolist(), values.tolist(), indices.tolist()))
        return rows

    reduced = InferenceEngine(loaded, batch_size=batch_size).run(features, reduce)
    return [
        build_result(tokenizer, text, feat["input_ids"], red, target_ids)
        for text, feat, red in zip(texts, features, reduced, strict=True)
    ]


def build_result(tokenizer: Any, text: str, input_ids: list[int], reduced: Any, target_ids: list[int] | None):
    positions, values, indices = reduced
    single = len(positions) == 1
    masks = []
    for number, (pos, scores, picks) in enumerate(zip(positions, values, indices, strict=True)):
        preds = []
        for score, pick in zip(scores, picks, strict=True):
            token_id = target_ids[pick] if target_ids else pick
            filled = list(input_ids)
            filled[pos] = token_id
            # Like the pipeline: with several masks, keep the other masks visible in the sequence.
            sequence = tokenizer.decode(filled, skip_special_tokens=single)
            preds.append(TokenPrediction(tokenizer.decode([token_id]), int(token_id), float(score), sequence))
        masks.append(MaskPredictions(number, preds))
    return FillMaskResult(text, masks)
