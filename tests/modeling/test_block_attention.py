"""bertkit.modeling.block_attention: one autograd function computes and draws what the eager attention does."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch

from bertkit.modeling import speedups
from bertkit.modeling.block_attention import block_attention
from bertkit.modeling.speedups import attention_with_fast_dropout


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_outputs_gradients_and_dropout_masks_match_the_eager_attention(dtype):
    count, span, heads, size, p = 3, 7, 4, 8, 0.3
    torch.manual_seed(0)
    rows = torch.randn(count * span, 3 * heads * size).to(dtype)
    lengths = torch.tensor([7, 4, 2])
    keys = torch.arange(span)[None, :] < lengths[:, None]
    mask = keys[:, None, None, :].expand(count, 1, span, span)  # as transformers' sdpa_mask gives it
    upstream = torch.randn(count * span, heads * size).to(dtype)

    eager_rows = rows.clone().requires_grad_()
    torch.manual_seed(7)
    block = eager_rows.view(count, span, 3, heads, size)
    q, k, v = (block[:, :, i].transpose(1, 2) for i in range(3))
    module = SimpleNamespace(training=True)
    eager, _ = attention_with_fast_dropout(module, q, k, v, mask, scaling=size**-0.5, dropout=p)
    eager = eager.reshape(count * span, heads * size)
    eager.backward(upstream)

    fused_rows = rows.clone().requires_grad_()
    torch.manual_seed(7)  # the same random words: the same dropout mask
    fused = block_attention(fused_rows, ~mask, count, span, heads, p, size**-0.5)
    fused.backward(upstream)

    tolerance = 1e-6 if dtype == torch.float32 else 1e-2
    assert torch.allclose(fused.float(), eager.float(), atol=tolerance)
    assert torch.allclose(fused_rows.grad.float(), eager_rows.grad.float(), atol=tolerance)
    assert not torch.allclose(fused_rows.grad[:, -heads * size :].float(), torch.zeros(1), atol=1e-3)
    torch.manual_seed(8)  # other random words: another mask
    assert not torch.allclose(block_attention(rows, ~mask, count, span, heads, p, size**-0.5).float(), fused.float())


def test_the_packed_model_with_attention_dropout_trains_as_the_stock_one(monkeypatch):
    """Dense rows (one attention call per layer, the stock shapes): the same dropout draws, the same logits."""
    from tests.modeling.test_packing import loss_and_grads, packed_copy, tagged_batch, tiny, use_layout

    use_layout(monkeypatch, "dense")
    stock = tiny("Bert", head="TokenClassification", attention=0.5).train()
    speedups.use_fast_dropout(stock)  # the eager attention with the same mask draws
    packed = packed_copy(stock)
    batch = tagged_batch()
    torch.manual_seed(3)
    logits, grads = loss_and_grads(stock, batch)
    torch.manual_seed(3)
    packed_logits, packed_grads = loss_and_grads(copy.deepcopy(packed), batch, labels=batch["labels"])
    labeled = batch["labels"] != -100
    assert torch.allclose(packed_logits[labeled], logits[labeled], atol=1e-5)
    for name, grad in grads.items():
        assert torch.allclose(packed_grads[name], grad, atol=1e-5), name
    torch.manual_seed(4)  # other draws: other logits (the dropout is live)
    other, _ = loss_and_grads(packed, batch, labels=batch["labels"])
    assert not torch.allclose(other[labeled], logits[labeled], atol=1e-3)
