"""bertkit.modeling.layout_rows: the embeddings and the token-classification head on the packed layers' rows give
the stock loss and gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from bertkit.modeling import speedups
from bertkit.modeling.packing import PACKING, ROWS_IN, ROWS_OUT, encoder_of, packed_tokens
from tests.modeling.test_packing import loss_and_grads, tagged_batch, use_layout
from tests.modeling.test_speedups import tiny


@pytest.mark.parametrize("kind", ["dense", "blocked", "packed"])
@pytest.mark.parametrize("arch", ["Bert", "Roberta", "Electra"])
def test_rows_embeddings_and_head_give_the_stock_loss_and_gradients(arch, kind, monkeypatch):
    from bertkit.modeling import packing

    monkeypatch.setattr(packing, "ROW_MULTIPLE", 1)  # exact row counts: the head computes the labeled rows only
    use_layout(monkeypatch, kind)
    stock = tiny(arch, head="TokenClassification").train()  # dropout 0: training mode without randomness
    rows = copy.deepcopy(stock)
    notes = " ".join(speedups.use_packing(rows))
    assert ("embeddings computed for those rows" in notes) is (arch == "Bert")  # BERT's embeddings only
    assert "head at labeled positions only" in notes
    batch = tagged_batch()
    logits, grads = loss_and_grads(stock, batch)
    rows_logits, rows_grads = loss_and_grads(rows, batch, labels=batch["labels"])
    labeled = batch["labels"] != -100
    assert torch.allclose(rows_logits[labeled], logits[labeled], atol=1e-5)
    assert not rows_logits[~labeled].any()  # not computed: zeros, which the loss never reads
    assert rows_grads.keys() == grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(rows_grads[name], grad, atol=1e-5), name
    assert not {PACKING, ROWS_IN, ROWS_OUT} & set(encoder_of(rows).__dict__)  # nothing left behind


def test_evaluation_checkpointing_and_removal_give_the_stock_model_back():
    stock = tiny("Bert", head="TokenClassification").train()
    rows = copy.deepcopy(stock)
    speedups.use_packing(rows)
    batch = tagged_batch()
    expected = stock(**batch).logits
    with packed_tokens(rows.eval(), batch["attention_mask"], batch["labels"]), torch.no_grad():
        assert torch.allclose(rows(**batch).logits, stock.eval()(**batch).logits, atol=1e-5)
    rows.train()
    with packed_tokens(rows, batch["attention_mask"], batch["labels"]):  # keyword arguments the stock forward takes
        loss = rows(**batch, return_dict=True).loss
    assert torch.allclose(loss, stock.train()(**batch).loss, atol=1e-6)
    enable = getattr(rows, "activation_checkpointing_enable", None) or rows.gradient_checkpointing_enable
    enable()  # the encoder runs its stock forward, so the embeddings compute every position too
    with packed_tokens(rows, batch["attention_mask"], batch["labels"]):
        assert torch.allclose(rows(**batch).logits, expected, atol=1e-5)
    speedups.remove_speedups(rows)
    assert type(rows).__name__ == "BertForTokenClassification"
    assert type(rows.bert.embeddings).__name__ == "BertEmbeddings"
