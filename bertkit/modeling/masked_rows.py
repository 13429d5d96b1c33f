"""The masked-LM head on the masked positions only (a speed-up of bertkit.modeling.speedups; same maths).

A masked-LM model's vocabulary-sized output layer is most of a small model's work (30522 x 384 per token for
MiniLM), but its loss reads the masked positions only (about 15%). Within :func:`masked_rows` the head runs on
those rows, rounded up to a multiple of bertkit.modeling.packing's ``ROW_MULTIPLE`` with unmasked ones (their
labels are ignored by the loss), and the encoder runs packed (bertkit.modeling.packing.packed_tokens).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from bertkit.modeling.packing import packed_tokens, rounded_selection

HEAD_ROWS = "_bertkit_rows"  # masked-LM head attribute, set inside masked_rows(): the positions it predicts
MLM_HEADS = {  # masked-LM models whose head works on any (..., hidden) input: the head's attribute
    "BertForMaskedLM": "cls",
    "BertForPreTraining": "cls",
    "RobertaForMaskedLM": "lm_head",
    "XLMRobertaForMaskedLM": "lm_head",
    "CamembertForMaskedLM": "lm_head",
}


def use_masked_rows_head(model: Any) -> bool:
    """Let a masked-LM model's prediction head run only on the masked positions inside :func:`masked_rows` (its
    vocabulary-sized output layer is most of a small model's work: 30522 x 384 per token for MiniLM)."""
    from bertkit.modeling.speedups import swapped_class

    head = mlm_head(model)
    if head is None:
        return False
    head.__class__ = swapped_class(type(head), "masked_rows", lambda: {"forward": masked_rows_head_forward})
    return True


def mlm_head(model: Any) -> Any:
    name = MLM_HEADS.get(type(model).__name__)
    return getattr(model, name, None) if name else None


def restore_mlm_head(model: Any) -> None:
    head = mlm_head(model)
    if head is not None and getattr(type(head), "_bertkit_kind", None) == "masked_rows":
        head.__class__ = type(head)._bertkit_original
        head.__dict__.pop(HEAD_ROWS, None)


def masked_rows_head_forward(head: Any, sequence_output: Any, *args: Any, **kwargs: Any) -> Any:
    rows = head.__dict__.get(HEAD_ROWS)
    if rows is not None:
        sequence_output = sequence_output.flatten(0, 1).index_select(0, rows)
    return type(head)._bertkit_original.forward(head, sequence_output, *args, **kwargs)


@contextmanager
def masked_rows(model: Any, inputs: dict[str, Any], ignore_index: int = -100):
    """Yields the flat positions (row-major over batch x length) of the masked tokens, and a few unmasked ones that
    round their count up to a multiple of ``ROW_MULTIPLE``, whose prediction logits alone (rows x vocabulary) the
    model returns within this block, with its encoder packed as well; yields None
    (nothing changed) for models :func:`use_masked_rows_head` did not prepare, and in evaluation."""
    unwrapped = getattr(model, "module", model)
    head = mlm_head(unwrapped)
    if head is None or getattr(type(head), "_bertkit_kind", None) != "masked_rows" or not unwrapped.training:
        yield None
        return
    labels = inputs["labels"]
    needed = labels
    if inputs.get("next_sentence_label") is not None:  # the NSP head reads position 0 ([CLS]) too
        needed = labels.clone()
        needed[:, 0] = 0
    # Rounded up with positions whose label is ignore_index: their logits add nothing to the loss.
    rows = rounded_selection((labels.flatten() != ignore_index).nonzero().squeeze(1), labels.numel())
    head.__dict__[HEAD_ROWS] = rows
    try:
        with packed_tokens(model, inputs.get("attention_mask"), needed, ignore_index):
            yield rows
    finally:
        head.__dict__.pop(HEAD_ROWS, None)
