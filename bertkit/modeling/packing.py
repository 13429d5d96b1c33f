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
from typing import Any, NamedTuple

PACKING = "_bertkit_packing"  # encoder attribute, set inside packed_tokens(): the batch's Layout
ATTENTION_GROUPS = 4  # attention calls per layer for batches of uneven lengths
SPLIT_BELOW = 0.75


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
    encoder.__dict__[PACKING] = layout(attention_mask, labels, ignore_index)
    try:
        yield
    finally:
        encoder.__dict__.pop(PACKING, None)


class Layout(NamedTuple):
    """Where a batch's real tokens are: ``rows`` (N flat positions, row-major over batch x length), attention
    ``groups`` (sequence indices, the gather index of their padded block into the N tokens plus one zero row,
    the block's length), ``back`` (each token's row in the groups' concatenated outputs) and ``last_rows`` (the
    tokens the last layer computes; None: all)."""

    rows: Any
    groups: list[tuple[Any, Any, int]]
    back: Any
    last_rows: Any


def layout(attention_mask: Any, labels: Any = None, ignore_index: int = -100) -> Layout:
    import torch

    batch, length = attention_mask.shape
    real = attention_mask.flatten() != 0
    rows = real.nonzero().squeeze(1)
    slot = torch.full((batch * length,), len(rows), dtype=torch.long, device=rows.device)
    slot[rows] = torch.arange(len(rows), device=rows.device)
    spans = (real.view(batch, length) * torch.arange(1, length + 1, device=rows.device)).amax(1).tolist()
    positions, groups = [], []
    for sequences, span in attention_groups(spans):
        index = torch.tensor(sequences, device=rows.device)
        flat = (index[:, None] * length + torch.arange(span, device=rows.device)).flatten()
        positions.append(flat)
        groups.append((index, slot[flat], span))
    where = torch.full((batch * length,), -1, dtype=torch.long, device=rows.device)
    flat = torch.cat(positions)
    where[flat] = torch.arange(len(flat), device=rows.device)
    last_rows = None
    if labels is not None:
        last_rows = (labels.flatten().index_select(0, rows) != ignore_index).nonzero().squeeze(1)
    return Layout(rows, groups, where.index_select(0, rows), last_rows)


def attention_groups(spans: list[int]) -> list[tuple[list[int], int]]:
    """Sequences (by index) and the padded length each attention call uses. One call for the whole batch unless
    splitting the length-sorted batch into ``ATTENTION_GROUPS`` calls cuts the attention matrices' cells (sum of
    sequences x length^2) to under ``SPLIT_BELOW`` of one call's: random batches of uneven lengths."""
    whole = [(list(range(len(spans))), max(spans, default=0))]
    if len(spans) < 2 * ATTENTION_GROUPS:
        return whole
    order = sorted(range(len(spans)), key=lambda i: -spans[i])
    size = -(-len(spans) // ATTENTION_GROUPS)
    split = [(order[i : i + size], spans[order[i]]) for i in range(0, len(order), size)]
    cells = sum(len(sequences) * span**2 for sequences, span in split)
    return split if cells < SPLIT_BELOW * len(spans) * whole[0][1] ** 2 else whole


def group_mask(mask: Any, sequences: Any, span: int, whole: bool) -> Any:
    """The model's attention mask cut to one attention group (its sequences, the first ``span`` positions)."""
    if mask is None or whole:
        return mask
    if mask.shape[0] > 1:
        mask = mask.index_select(0, sequences)
    if mask.dim() == 4:
        return mask[:, :, : span if mask.shape[-2] > 1 else 1, :span]
    return mask[..., :span]


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
    batch, length = hidden_states.shape[:2]
    whole = len(packing.groups) == 1 and packing.groups[0][2] == length
    masks = [group_mask(attention_mask, sequences, span, whole) for sequences, _, span in packing.groups]
    tokens = hidden_states.flatten(0, 1).index_select(0, packing.rows)
    layers = encoder.layer
    for number, layer in enumerate(layers):
        keep = packing.last_rows if number == len(layers) - 1 else None
        tokens = packed_layer_forward(layer, tokens, packing, masks, keep)
    out_rows = packing.rows if packing.last_rows is None else packing.rows.index_select(0, packing.last_rows)
    full = tokens.new_zeros(batch * length, tokens.shape[-1]).index_copy(0, out_rows, tokens)
    return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=full.view(batch, length, -1))


def packed_layer_forward(layer: Any, tokens: Any, packing: Layout, masks: list[Any], keep: Any) -> Any:
    """One BERT-style layer on packed tokens (N x H): attention on padded blocks, the rest per token. With
    ``keep`` (indices into the N tokens) the output is computed for those tokens only."""
    import torch
    import torch.nn.functional as F

    from bertkit.modeling.speedups import attention_function

    attention = layer.attention.self
    projections = (attention.query, attention.key, attention.value)
    qkv = F.linear(
        tokens,
        torch.cat([p.weight for p in projections]),
        torch.cat([p.weight.new_zeros(p.out_features) if p.bias is None else p.bias for p in projections]),
    )
    qkv = torch.cat([qkv, qkv.new_zeros(1, qkv.shape[1])])  # row N: the padding
    contexts = []
    for (sequences, gather, span), mask in zip(packing.groups, masks, strict=True):
        block = qkv.index_select(0, gather).view(len(sequences), span, 3, -1, attention.attention_head_size)
        context, _ = attention_function(attention)(
            attention,
            *(block[:, :, i].transpose(1, 2) for i in range(3)),
            mask,
            dropout=attention.dropout.p if attention.training else 0.0,
            scaling=attention.scaling,
        )
        contexts.append(context.reshape(len(sequences) * span, -1))
    context = (contexts[0] if len(contexts) == 1 else torch.cat(contexts)).index_select(0, packing.back)
    if keep is not None:
        context, tokens = context.index_select(0, keep), tokens.index_select(0, keep)
    attended = layer.attention.output(context, tokens)
    return layer.output(layer.intermediate(attended), attended)
