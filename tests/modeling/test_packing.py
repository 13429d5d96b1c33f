"""bertkit.modeling.packing: padding-free training passes give the stock model's loss and gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from bertkit.modeling import speedups
from bertkit.modeling.packing import encoder_of, packed_tokens, use_packed_encoder
from tests.modeling.test_speedups import padded_batch, tiny


def tagged_batch(seed: int = 1) -> dict[str, torch.Tensor]:
    """A padded batch with per-position tags: -100 on padding, [CLS] and a few continuation subwords."""
    batch = padded_batch(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    labels = torch.randint(0, 3, batch["input_ids"].shape, generator=generator)
    labels[batch["attention_mask"] == 0] = -100
    labels[:, 0] = -100
    labels[0, 3:5] = -100
    labels[2, 1] = -100
    return {**batch, "labels": labels}


def loss_and_grads(model, batch, **packing):
    model.zero_grad()
    if packing:
        with packed_tokens(model, batch["attention_mask"], **packing):
            out = model(**batch)
    else:
        out = model(**batch)
    out.loss.backward()
    return out.logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def packed_copy(stock):
    packed = copy.deepcopy(stock)
    assert use_packed_encoder(packed, speedups.bert_style_layer)
    return packed


@pytest.mark.parametrize("arch", ["Bert", "Roberta", "Electra"])
def test_packed_layers_give_the_same_loss_and_gradients(arch):
    stock = tiny(arch, head="TokenClassification").train()  # dropout 0: training mode without randomness
    packed = packed_copy(stock)
    batch = tagged_batch()
    logits, grads = loss_and_grads(stock, batch)
    labeled = batch["labels"] != -100
    real = batch["attention_mask"] == 1
    for labels, computed in ((batch["labels"], labeled), (None, real)):  # last layer at labeled / real tokens
        packed_logits, packed_grads = loss_and_grads(packed, batch, labels=labels)
        assert torch.allclose(packed_logits[computed], logits[computed], atol=1e-5)
        assert not torch.allclose(packed_logits[~computed], logits[~computed], atol=1e-3)  # skipped there
        assert set(packed_grads) == set(grads)  # every parameter still takes part
        for name, grad in grads.items():
            assert torch.allclose(packed_grads[name], grad, atol=1e-5), name
    assert "_bertkit_packing" not in encoder_of(packed).__dict__  # cleared on leaving the block


def test_outside_the_block_in_evaluation_and_with_checkpointing_every_position_is_computed():
    stock = tiny("Bert", head="TokenClassification").train()
    packed = packed_copy(stock)
    batch = tagged_batch()
    expected = stock(**batch).logits
    assert torch.allclose(packed(**batch).logits, expected, atol=1e-5)
    with packed_tokens(packed.eval(), batch["attention_mask"], batch["labels"]), torch.no_grad():
        assert torch.allclose(packed(**batch).logits, stock.eval()(**batch).logits, atol=1e-5)
    packed.train().gradient_checkpointing_enable()
    with packed_tokens(packed, batch["attention_mask"], batch["labels"]):
        assert torch.allclose(packed(**batch).logits, expected, atol=1e-5)


def test_a_batch_without_padding_or_labels_still_trains():
    model = packed_copy(tiny("Bert", head="TokenClassification").train())
    batch = tagged_batch()
    full = {"input_ids": batch["input_ids"][:, :2], "attention_mask": torch.ones(4, 2, dtype=torch.long)}
    with packed_tokens(model, full["attention_mask"], torch.full((4, 2), -100)):
        out = model(**full)
    assert out.logits.shape == (4, 2, 3)
    out.logits.sum().backward()  # nothing labeled: nothing computed in the last layer, still differentiable


def test_applied_by_the_speedups_to_token_classifiers_only_and_undone():
    classifier = tiny("Bert")
    assert "real tokens" not in " ".join(speedups.apply_speedups(classifier, device_type="cpu", head_reads="first"))
    with packed_tokens(classifier, padded_batch()["attention_mask"]):  # not packed: a no-op
        pass
    tagger = tiny("Bert", head="TokenClassification", hidden=0.1, attention=0.1)
    notes = speedups.apply_speedups(tagger, device_type="cpu", head_reads="labeled")
    assert "real tokens only" in notes[0]
    batch = tagged_batch()
    with (
        packed_tokens(tagger.train(), batch["attention_mask"], batch["labels"]),
        torch.autocast("cpu", dtype=torch.bfloat16),  # dropout and bf16 on the packed layers
    ):
        out = tagger(**batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)
    speedups.remove_speedups(tagger)
    assert type(encoder_of(tagger)).__name__ == "BertEncoder"
