"""bertkit.modeling.packing: padding-free training passes give the stock model's loss and gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from bertkit.modeling import speedups
from bertkit.modeling.packing import encoder_of, packed_tokens, use_packed_encoder
from tests.modeling.test_speedups import padded_batch, tiny


def tagged_batch(seed: int = 1, dense: bool = False) -> dict[str, torch.Tensor]:
    """A padded batch with per-position tags: -100 on padding, [CLS] and a few continuation subwords. Its padding
    share is 39% (packed layers), or 3% with ``dense`` (the padded layout kept, no gathers)."""
    batch = padded_batch(seed)
    if dense:
        batch["input_ids"][:, :8] = batch["input_ids"][0, :8]
        batch["attention_mask"][:, :8] = 1
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


LAYOUTS = {  # cost settings under which layout() picks each kind of rows for tagged_batch()
    "dense": {"BLOCK_GROUPS": (1,), "PACK_COST": 1e9},  # every position a row (its longest sequence fills it)
    "blocked": {"BLOCK_GROUPS": (2,), "PACK_COST": 1e9},  # two padded blocks: lengths 9, 7 and 4, 2
    "packed": {"BLOCK_GROUPS": (1,), "PACK_COST": 0.0},  # real tokens only, gathered for attention
}


def use_layout(monkeypatch, kind: str) -> None:
    from bertkit.modeling import packing

    for name, value in LAYOUTS[kind].items():
        monkeypatch.setattr(packing, name, value)


@pytest.mark.parametrize("multiple", [1, 8])  # exact row counts, and rounded up with rows no loss reads
@pytest.mark.parametrize(
    ("arch", "kind"),
    [
        ("Bert", "packed"),
        ("Roberta", "packed"),
        ("Electra", "packed"),
        ("Bert", "blocked"),
        ("Roberta", "blocked"),
        ("Bert", "dense"),
        ("Roberta", "dense"),
    ],
)
def test_packed_layers_give_the_same_loss_and_gradients(arch, kind, multiple, monkeypatch):
    from bertkit.modeling import packing
    from bertkit.modeling.packing import layout

    monkeypatch.setattr(packing, "ROW_MULTIPLE", multiple)
    use_layout(monkeypatch, kind)
    stock = tiny(arch, head="TokenClassification").train()  # dropout 0: training mode without randomness
    packed = packed_copy(stock)
    batch = tagged_batch()
    rows = layout(batch["attention_mask"])
    assert rows.dense is (kind == "dense") and (rows.gather is not None) is (kind == "packed")
    logits, grads = loss_and_grads(stock, batch)
    labeled = batch["labels"] != -100
    real = batch["attention_mask"] == 1
    cases = [(batch["labels"], labeled)] + ([] if kind == "dense" else [(None, real)])  # dense, no labels: stock
    for labels, needed in cases:  # last layer at labeled / real tokens
        packed_logits, packed_grads = loss_and_grads(packed, batch, labels=labels)
        assert torch.allclose(packed_logits[needed], logits[needed], atol=1e-5)
        assert not torch.allclose(packed_logits[~needed], logits[~needed], atol=1e-3)  # skipped at some others
        assert set(packed_grads) == set(grads)  # every parameter still takes part
        for name, grad in grads.items():
            assert torch.allclose(packed_grads[name], grad, atol=1e-5), name
    assert "_bertkit_packing" not in encoder_of(packed).__dict__  # cleared on leaving the block


def test_the_cheapest_rows_are_chosen_per_batch():
    from bertkit.modeling.packing import cheapest_plan

    even = cheapest_plan([30] * 31 + [28], 30)  # length-grouped: every position a row, one attention call
    assert not even.packed and len(even.groups) == 1 and even.groups[0][1] == 30
    two = cheapest_plan([40] * 16 + [10] * 16, 40)  # two lengths: two blocks, no padding
    assert not two.packed and sorted(span for _, span in two.groups) == [10, 40]
    assert sorted(two.groups[1][0]) == list(range(16, 32))
    spans = [int(x) for x in torch.randint(5, 60, (32,), generator=torch.Generator().manual_seed(0))]
    uneven = cheapest_plan(spans, max(spans))  # random lengths: real tokens only
    assert uneven.packed and len(uneven.groups) == 4  # four length-sorted attention calls


def test_row_counts_are_rounded_up_with_rows_no_loss_reads(monkeypatch):
    from bertkit.modeling import packing

    monkeypatch.setattr(packing, "ROW_MULTIPLE", 8)
    mask = padded_batch()["attention_mask"]  # lengths 9, 4, 7, 2: 22 real tokens of 36 positions
    real = mask.flatten() == 1
    rows = packing.with_padding_rows(real, mask)
    assert int(rows.sum()) == 24 and bool(rows[real].all())
    assert rows.view(4, 9)[1, 4] and rows.view(4, 9)[3, 2]  # the padding right after the two shortest sequences
    assert packing.rounded_selection(torch.tensor([1, 5, 6]), 10).tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert packing.rounded_selection(torch.tensor([1, 5, 6]), 7).tolist() == list(range(7))  # all there is
    assert packing.rounded_selection(torch.arange(8), 20).tolist() == list(range(8))

    batch = tagged_batch()
    use_layout(monkeypatch, "packed")
    packed = packing.layout(batch["attention_mask"], batch["labels"])
    assert len(packed.rows) == 24 and len(packed.last_rows) == 16  # 15 labeled tokens
    labels = batch["labels"].flatten()
    assert int((labels.index_select(0, packed.out_positions()) != -100).sum()) == 15  # every labeled token kept
    assert int((packed.back < 0).sum()) == 0  # every row, padding ones too, has its place in an attention group
    use_layout(monkeypatch, "blocked")
    blocked = packing.layout(batch["attention_mask"], batch["labels"])
    assert len(blocked.rows) == 32 and len(set(blocked.rows.tolist())) == 32  # blocks of 18 and 8, 6 more
    assert [(count, span) for _, count, span in blocked.groups] == [(2, 9), (2, 4)]
    assert int((labels.index_select(0, blocked.out_positions()) != -100).sum()) == 15
    use_layout(monkeypatch, "dense")
    dense = packing.layout(batch["attention_mask"], batch["labels"])
    assert dense.dense and len(dense.rows) == 36 and len(dense.last_rows) == 16


def test_outside_the_block_in_evaluation_and_with_checkpointing_every_position_is_computed():
    stock = tiny("Bert", head="TokenClassification").train()
    packed = packed_copy(stock)
    batch = tagged_batch()
    expected = stock(**batch).logits
    assert torch.allclose(packed(**batch).logits, expected, atol=1e-5)
    with packed_tokens(packed.eval(), batch["attention_mask"], batch["labels"]), torch.no_grad():
        assert torch.allclose(packed(**batch).logits, stock.eval()(**batch).logits, atol=1e-5)
    enable = getattr(packed, "activation_checkpointing_enable", None) or packed.gradient_checkpointing_enable
    packed.train()
    enable()  # transformers 5 renamed gradient checkpointing
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
