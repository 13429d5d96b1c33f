"""bertkit.modeling.masked_rows: the masked-LM head on the masked positions gives the model's loss and gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from bertkit.modeling import speedups
from bertkit.modeling.masked_rows import mlm_head
from bertkit.modeling.packing import encoder_of
from tests.modeling.test_packing import tagged_batch
from tests.modeling.test_speedups import tiny


def mlm_batch(nsp: bool = False, dense: bool = False) -> dict[str, torch.Tensor]:
    batch = tagged_batch(seed=3, dense=dense)
    labels = batch["labels"].clone()
    labels[labels == 2] = -100  # about a third of the positions masked, scattered
    labels[labels >= 0] = batch["input_ids"][labels >= 0]
    batch["labels"] = labels
    if nsp:
        batch["next_sentence_label"] = torch.tensor([0, 1, 1, 0])
    return batch


def masked_loss(model, batch):
    """What MaskedLMTask.training_loss computes: the model's loss, or the same from the masked rows' logits."""
    import torch.nn.functional as F

    from bertkit.modeling import packing
    from bertkit.modeling.masked_rows import masked_rows

    model.zero_grad()
    with masked_rows(model, batch) as rows:
        if rows is None:
            loss = model(**batch).loss
        else:
            targets = ("labels", "next_sentence_label")
            out = model(**{k: v for k, v in batch.items() if k not in targets})
            logits = out.logits if hasattr(out, "logits") else out.prediction_logits
            masked, multiple = int((batch["labels"] != -100).sum()), packing.ROW_MULTIPLE
            assert logits.shape[0] == len(rows) == masked + (-masked % multiple)  # the masked positions, rounded up
            loss = F.cross_entropy(logits.float(), batch["labels"].flatten()[rows])
            if "next_sentence_label" in batch:
                loss = loss + F.cross_entropy(out.seq_relationship_logits.float(), batch["next_sentence_label"])
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize(
    ("arch", "head", "dense"),
    [
        ("Bert", "MaskedLM", False),
        ("Roberta", "MaskedLM", False),
        ("Bert", "PreTraining", False),
        ("Bert", "MaskedLM", True),
        ("Bert", "PreTraining", True),
    ],
)
def test_masked_rows_give_the_model_s_own_loss_and_gradients(arch, head, dense, monkeypatch):
    from bertkit.modeling import packing

    monkeypatch.setattr(packing, "ROW_MULTIPLE", 8)  # rounded up with unmasked rows, which the loss ignores
    stock = tiny(arch, head=head).train()
    fast = copy.deepcopy(stock)
    notes = speedups.apply_speedups(fast, device_type="cuda", head_reads="labeled")  # cuda: no dropout swap
    assert "real tokens only" in notes[0] and "masked positions only" in notes[0]
    batch = mlm_batch(nsp=head == "PreTraining", dense=dense)
    loss, grads = masked_loss(stock, batch)
    fast_loss, fast_grads = masked_loss(fast, batch)
    assert torch.allclose(fast_loss, loss, atol=1e-5)
    assert set(fast_grads) == set(grads)
    for name, grad in grads.items():
        assert torch.allclose(fast_grads[name], grad, atol=1e-5), name
    with torch.no_grad():  # evaluation: the stock forward, every position
        assert fast.eval()(**batch).loss == pytest.approx(stock.eval()(**batch).loss.item(), abs=1e-5)
    speedups.remove_speedups(fast)
    for module in (mlm_head(fast), encoder_of(fast)):
        assert "_bertkit_kind" not in vars(type(module))
