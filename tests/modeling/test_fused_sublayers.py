"""bertkit.modeling.fused_sublayers: the attention-output and feed-forward sublayers as one autograd function each
train bit for bit as the stock ones."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers.activations import ACT2FN

from bertkit.modeling import fused_sublayers, speedups
from bertkit.modeling.packing import packed_tokens, use_packed_encoder
from tests.modeling.test_packing import tagged_batch, use_layout
from tests.modeling.test_speedups import tiny


def tagger():
    model = tiny("Bert", head="TokenClassification", hidden=0.2, attention=0.1).train()
    speedups.use_fast_dropout(model)  # bertkit's dropout masks: what the fused sublayers draw
    assert use_packed_encoder(model, speedups.bert_style_layer)
    return model


def train_step(model, batch, seed, autocast):
    model.zero_grad()
    torch.manual_seed(seed)
    with packed_tokens(model, batch["attention_mask"], batch["labels"]), torch.autocast("cpu", enabled=autocast):
        out = model(**batch)
    out.loss.backward()
    return out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("autocast", [False, True])  # fp32, and bf16 matmuls under autocast
@pytest.mark.parametrize("kind", ["blocked", "packed"])
def test_the_fused_sublayers_give_the_stock_loss_and_gradients_bit_for_bit(kind, autocast, monkeypatch):
    use_layout(monkeypatch, kind)
    model, batch = tagger(), tagged_batch()
    calls = []
    fused = fused_sublayers.feed_forward
    monkeypatch.setattr(fused_sublayers, "feed_forward", lambda *a: calls.append(1) or fused(*a))
    loss, grads = train_step(copy.deepcopy(model), batch, seed=5, autocast=autocast)
    assert len(calls) == 2  # both layers ran fused
    monkeypatch.setattr(fused_sublayers, "fusable", lambda layer, tokens: False)
    stock_loss, stock_grads = train_step(copy.deepcopy(model), batch, seed=5, autocast=autocast)
    assert torch.equal(loss, stock_loss)
    assert grads.keys() == stock_grads.keys()
    for name, grad in grads.items():
        assert torch.equal(grad, stock_grads[name]), name
    other, _ = train_step(copy.deepcopy(model), batch, seed=6, autocast=autocast)
    assert not torch.equal(other, stock_loss)  # the dropout is live: other draws, another loss


def test_only_layers_with_the_stock_structure_fuse():
    tokens = torch.zeros(3, 32)
    layer = tagger().bert.encoder.layer[0]
    assert fused_sublayers.fusable(layer, tokens)
    assert not fused_sublayers.fusable(copy.deepcopy(layer).eval(), tokens)  # evaluation: the stock forward
    for activation in ("relu", "gelu_new", "gelu_python"):  # only torch's exact GELU is fused
        other = copy.deepcopy(layer)
        other.intermediate.intermediate_act_fn = ACT2FN[activation]
        assert not fused_sublayers.fusable(other, tokens), activation
    dropped = copy.deepcopy(layer)
    dropped.output.dropout.p = 1.0  # everything dropped: left to the stock dropout
    assert not fused_sublayers.fusable(dropped, tokens)
    plain_dropout = tiny("Bert", head="TokenClassification", hidden=0.1).train().bert.encoder.layer[0]
    assert not fused_sublayers.fusable(plain_dropout, tokens)  # torch's dropout masks: not what these draw
