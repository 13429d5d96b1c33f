"""Padding-free training passes for BERT-style encoders (a speed-up of bertkit.modeling.speedups; same maths).

A padded batch of B sequences of length L holds N <= B x L real tokens. Every linear layer, LayerNorm, dropout
and feed-forward of an encoder layer works per token, so here they run on the N real tokens only (one N x H
matrix); only attention, which mixes the tokens of a sequence, sees the padded B x L layout (queries, keys and
values are scattered into it, the context gathered back). The attention mask is the model's own, so each token
attends to exactly what it attends to in the stock forward and its output is the same. Random batches then cost
about what length-grouped ones do (CoNLL-2003: 62% of a random batch is padding, 5% of a grouped one).

For per-token heads (token classification) the last layer's output projection and feed-forward also run only at
the positions the loss reads (the labeled ones: 73% of CoNLL-2003's real tokens); other positions of the
encoder's output are zeros, which that loss never reads. Only in training and inside :func:`packed_tokens`;
evaluation and prediction run the stock forward. Query, key and value come from one matmul with the three weight
matrices side by side (same products, one cast of the input under autocast instead of three).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

PACKING = "_bertkit_packing"  # encoder attribute, set inside packed_tokens(): (real token rows, last-layer rows)


def encoder_of(model: Any) -> Any:
    return getattr(getattr(model, "base_model", None), "encoder", None)


def use_packed_encoder(model: Any, layer_check: Any) -> bool:
    """Let the model's encoder run padding-free inside :func:`packed_tokens`. ``layer_check(layer)`` says whether
    a layer has the BERT structure this code calls into; False (nothing changed) when any layer fails it."""
    from bertkit.modeling.speedups import swapped_class

    encoder = encoder_of(model)
    layers = getattr(encoder, "layer", None)
    if not layers or not all(layer_check(layer) for layer in layers):
        return False
    encoder.__class__ = swapped_class(type(encoder), "packed", lambda: {"forward": packed_encoder_forward})
    return True


def restore_encoder(model: Any) -> None:
    encoder = encoder_of(model)
    if encoder is not None and getattr(type(encoder), "_bertkit_kind", None) == "packed":
        encoder.__class__ = type(encoder)._bertkit_original
        encoder.__dict__.pop(PACKING, None)


@contextmanager
def packed_tokens(model: Any, attention_mask: Any, labels: Any = None, ignore_index: int = -100):
    """Within this block a model prepared by :func:`use_packed_encoder` trains on the real tokens of
    ``attention_mask`` (batch x length) only, with the last layer computed only where ``labels`` (same shape) is
    not ``ignore_index`` when labels are given. Any other model is left as it is."""
    encoder = encoder_of(getattr(model, "module", model))  # DistributedDataParallel wraps the model
    if encoder is None or getattr(type(encoder), "_bertkit_kind", None) != "packed" or attention_mask is None:
        yield
        return
    real = attention_mask.flatten() != 0
    rows = real.nonzero().squeeze(1)
    last_rows = None
    if labels is not None:
        last_rows = (labels.flatten()[rows] != ignore_index).nonzero().squeeze(1)
    encoder.__dict__[PACKING] = (rows, last_rows)
    try:
        yield
    finally:
        encoder.__dict__.pop(PACKING, None)


def packed_encoder_forward(encoder: Any, hidden_states: Any, attention_mask: Any = None, *args: Any, **kwargs: Any):
    """The encoder's forward on the real tokens (see the module docstring); the stock one outside
    :func:`packed_tokens`, in evaluation, with cross-attention, caches or gradient checkpointing."""
    from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions

    packing = encoder.__dict__.get(PACKING)
    stock = (
        packing is None
        or not encoder.training
        or args
        or any(kwargs.get(name) is not None for name in ("encoder_hidden_states", "cache", "past_key_values"))
        or any(getattr(layer, "gradient_checkpointing", False) for layer in encoder.layer)
    )
    if stock:
        return type(encoder)._bertkit_original.forward(encoder, hidden_states, attention_mask, *args, **kwargs)
    rows, last_rows = packing
    batch, length = hidden_states.shape[:2]
    tokens = hidden_states.flatten(0, 1)[rows]
    layers = encoder.layer
    for number, layer in enumerate(layers):
        keep = last_rows if number == len(layers) - 1 else None
        tokens = packed_layer_forward(layer, tokens, rows, (batch, length), attention_mask, keep)
    out_rows = rows if last_rows is None else rows[last_rows]
    full = tokens.new_zeros(batch * length, tokens.shape[-1]).index_copy(0, out_rows, tokens)
    return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=full.view(batch, length, -1))


def packed_layer_forward(layer: Any, tokens: Any, rows: Any, shape: tuple[int, int], mask: Any, keep: Any) -> Any:
    """One BERT-style layer on packed tokens (N x H): attention in the padded layout, the rest per token. With
    ``keep`` (indices into the N tokens) the output is computed for those tokens only."""
    import torch
    import torch.nn.functional as F

    from bertkit.modeling.speedups import attention_function

    attention = layer.attention.self
    batch, length = shape
    projections = (attention.query, attention.key, attention.value)
    qkv = F.linear(
        tokens,
        torch.cat([p.weight for p in projections]),
        torch.cat([p.weight.new_zeros(p.out_features) if p.bias is None else p.bias for p in projections]),
    )
    padded = qkv.new_zeros(batch * length, qkv.shape[-1]).index_copy(0, rows, qkv)
    padded = padded.view(batch, length, 3, -1, attention.attention_head_size)
    query, key, value = (padded[:, :, i].transpose(1, 2) for i in range(3))
    context, _ = attention_function(attention)(
        attention,
        query,
        key,
        value,
        mask,
        dropout=attention.dropout.p if attention.training else 0.0,
        scaling=attention.scaling,
    )
    context = context.reshape(batch * length, -1)[rows]
    if keep is not None:
        context, tokens = context[keep], tokens[keep]
    attended = layer.attention.output(context, tokens)
    return layer.output(layer.intermediate(attended), attended)
