"""Padding-free training passes for BERT-style encoders (a speed-up of bertkit.modeling.speedups; same maths).

A padded batch of B sequences of length L holds N <= B x L real tokens. Every linear layer, LayerNorm, dropout
and feed-forward of an encoder layer works per token, so here they run on a matrix of rows, one per token, and
only attention, which mixes the tokens of a sequence, sees padded blocks: the batch's sequences sorted by length
and cut into 1, 2 or 4 groups, one attention call each. Per batch, :func:`cheapest_plan` picks the rows:
- dense: every position of the batch (length-grouped batches: ~5% padding, one attention call, no gathers);
- blocked: the groups' padded blocks one after the other (batches made of a few chunks of similar lengths,
  bertkit.training.sampling: little padding inside each block, no per-layer gathers);
- packed: the real tokens only, each layer gathering its attention blocks from them (random batches: 62% padding
  on CoNLL-2003).
Its costs were measured on CoNLL-2003 with MiniLM (bf16, the same batches in every layout, attention with dropout
as one autograd function: bertkit.modeling.block_attention): one more attention call per layer costs about as much
as 20 more rows, and the gathers of packed rows about 4%. The attention mask is the
model's own, so each token attends to exactly what it attends to in the stock forward and its output is the same.

For per-token heads the last layer's output projection and feed-forward also run only at the positions the loss
reads (token classification: the labeled ones, 73% of CoNLL-2003's real tokens; masked-LM: the masked ones, and
the masked-LM head too), with or without packing; other positions of the encoder's output are zeros, which that
loss never reads. BERT's embeddings can hand the layers their rows directly, and a token classifier's head can read
the computed rows instead of that output (``ROWS_IN``, ``ROWS_OUT``: bertkit.modeling.layout_rows). On CPU each
layer's attention-output and feed-forward sublayers run as one autograd function each (bertkit.modeling.
fused_sublayers). Only in training and inside :func:`packed_tokens` and bertkit.modeling.masked_rows; evaluation and
prediction run the stock forward. Query, key and value come from one matmul with the three weight matrices side by
side (same products, one cast of the input under autocast instead of three).

Row counts are rounded up to a multiple of ``ROW_MULTIPLE`` with rows no loss reads (padding positions, unlabeled
or unmasked tokens). oneDNN builds its matmul and GELU kernels for each exact shape (0.3-0.5 ms each, kept in its
primitive cache): with the exact counts of real, labeled or masked tokens nearly every step met new shapes (661
kernel builds in 40 CoNLL-2003 steps); rounded, a few dozen shapes recur all epoch (69 builds). Measured on
CoNLL-2003 with MiniLM: random batches train 15-20% faster, length-grouped ones 1-2%.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, NamedTuple

PACKING = "_bertkit_packing"  # encoder attribute, set inside packed_tokens(): the batch's Layout
ROWS_IN = "_bertkit_rows_in"  # encoder attribute: the embeddings of the layout's rows (bertkit.modeling.layout_rows)
ROWS_OUT = "_bertkit_rows_out"  # encoder attribute: present when a head reads only the computed rows (layout_rows)
ATTENTION_GROUPS = 4  # attention calls per layer of packed rows, for batches of uneven lengths
SPLIT_BELOW = 0.75
BLOCK_GROUPS = (1, 2, 4)  # attention calls per layer that blocked rows may use
CALL_ROWS = 20.0  # one more attention call per layer costs as much as this many rows through every layer
PACK_COST = 0.04  # the per-layer gathers of packed rows, as a share of their cost
ROW_MULTIPLE = 32  # row counts of the packed matmuls are rounded up to a multiple of this (see the docstring)


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


def has_packed_encoder(model: Any) -> bool:
    """Whether :func:`use_packed_encoder` prepared the model's encoder."""
    return getattr(type(encoder_of(model)), "_bertkit_kind", None) == "packed"


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
    """Which rows a batch's encoder layers compute, and how attention sees them.

    ``rows``: flat positions (row-major over batch x length) of the layer rows; ``dense``: every position of the
    batch, in order (no gather at all). ``groups``: one attention call each, (sequence indices or None for all,
    sequence count, padded length). ``gather`` None: the rows are the groups' padded blocks one after the other
    (blocked; trailing rows, if any, are in no group and attend to nothing), else the index into the rows of
    those blocks (packed: the rows are the real tokens only, and ``back`` gives each row's place in the blocks).
    ``last_rows`` (indices into the rows): the ones the last layer computes; None: all."""

    rows: Any
    groups: list[tuple[Any, int, int]]
    gather: Any
    back: Any
    last_rows: Any
    dense: bool

    def out_positions(self) -> Any:
        """Flat positions of the encoder's computed outputs."""
        return self.rows if self.last_rows is None else self.rows.index_select(0, self.last_rows)


class Plan(NamedTuple):
    cost: float
    groups: list[tuple[list[int], int]]  # (sequences, span) per attention call
    packed: bool


def layout(attention_mask: Any, labels: Any = None, ignore_index: int = -100) -> Layout:
    import torch

    batch, length = attention_mask.shape
    real = attention_mask.flatten() != 0
    plan = cheapest_plan(sequence_spans(real, batch, length), length)
    if plan.packed:
        real = with_padding_rows(real, attention_mask)
        plan = Plan(plan.cost, attention_groups(sequence_spans(real, batch, length)), True)
        rows = real.nonzero().squeeze(1)
        found = packed_layout(rows, plan.groups, batch, length)
    elif len(plan.groups) == 1 and plan.groups[0][1] == length:
        rows = torch.arange(batch * length, device=real.device)
        found = Layout(rows, [(None, batch, length)], None, None, None, dense=True)
    else:
        found = blocked_layout(plan.groups, batch, length, real.device)
        rows = found.rows
    if labels is None:
        return found
    labeled = (labels.flatten().index_select(0, rows) != ignore_index).nonzero().squeeze(1)
    return found._replace(last_rows=rounded_selection(labeled, len(rows)))


def sequence_spans(real: Any, batch: int, length: int) -> list[int]:
    """Each sequence's padded length: one past its last row."""
    import torch

    return (real.view(batch, length) * torch.arange(1, length + 1, device=real.device)).amax(1).tolist()


def cheapest_plan(spans: list[int], length: int) -> Plan:
    """Blocked layers over the length-sorted batch cut into 1, 2 or 4 attention groups, or packed layers (real
    tokens only), whichever costs least in row-equivalents: a row through every layer is 1, an attention call
    ``CALL_ROWS``, and packed rows ``1 + PACK_COST`` (the per-layer gathers)."""
    order = sorted(range(len(spans)), key=lambda i: -spans[i])
    plans = []
    for count in BLOCK_GROUPS:
        size = -(-len(order) // count)
        groups = [(order[i : i + size], spans[order[i]]) for i in range(0, len(order), size)]
        if count == 1:
            groups = [(order, length)] if spans and spans[order[0]] == length else groups
        rows = sum(len(sequences) * span for sequences, span in groups)
        plans.append(Plan(rows + CALL_ROWS * len(groups), groups, packed=False))
    packed_groups = attention_groups(spans)
    plans.append(Plan(sum(spans) * (1.0 + PACK_COST) + CALL_ROWS * len(packed_groups), packed_groups, packed=True))
    return min(plans, key=lambda plan: plan.cost)


def packed_layout(rows: Any, groups: list[tuple[list[int], int]], batch: int, length: int) -> Layout:
    """The rows are real tokens; each layer gathers the attention blocks from them (padding cells read row 0:
    their keys are masked and their queries' outputs dropped, so it adds nothing, not even to gradients)."""
    import torch

    device = rows.device
    slot = torch.zeros(batch * length, dtype=torch.long, device=device)
    slot[rows] = torch.arange(len(rows), device=device)
    where = torch.full((batch * length,), -1, dtype=torch.long, device=device)
    blocks = block_positions(groups, length, device)
    where[blocks] = torch.arange(len(blocks), device=device)
    called = [(torch.tensor(sequences, device=device), len(sequences), span) for sequences, span in groups]
    return Layout(rows, called, slot.index_select(0, blocks), where.index_select(0, rows), None, dense=False)


def blocked_layout(groups: list[tuple[list[int], int]], batch: int, length: int, device: Any) -> Layout:
    """The rows are the groups' padded blocks, plus positions in no block that round their count up to a multiple
    of ``ROW_MULTIPLE`` (padding: nothing attends to them, and their outputs are never read)."""
    import torch

    rows = block_positions(groups, length, device)
    extra = min(-len(rows) % ROW_MULTIPLE, batch * length - len(rows))
    if extra:
        free = torch.ones(batch * length, dtype=torch.bool, device=device)
        free[rows] = False
        rows = torch.cat([rows, free.nonzero().squeeze(1)[:extra]])
    called = [(torch.tensor(sequences, device=device), len(sequences), span) for sequences, span in groups]
    return Layout(rows, called, None, None, None, dense=False)


def block_positions(groups: list[tuple[list[int], int]], length: int, device: Any) -> Any:
    """Flat positions of each group's padded block (its sequences x its first ``span`` positions), one after the
    other."""
    import torch

    return torch.cat(
        [
            (torch.tensor(sequences, device=device)[:, None] * length + torch.arange(span, device=device)).flatten()
            for sequences, span in groups
        ]
    )


def rounded_selection(chosen: Any, total: int) -> Any:
    """``chosen`` (sorted indices into ``total`` rows) and the first rows not chosen, up to a multiple of
    ``ROW_MULTIPLE`` (or all ``total`` rows), sorted."""
    import torch

    extra = min(-len(chosen) % ROW_MULTIPLE, total - len(chosen))
    if extra == 0:
        return chosen
    free = torch.ones(total, dtype=torch.bool, device=chosen.device)
    free[chosen] = False
    return torch.cat([chosen, free.nonzero().squeeze(1)[:extra]]).sort().values


def with_padding_rows(real: Any, attention_mask: Any) -> Any:
    """``real`` (flat, batch x length) plus padding positions, up to a multiple of ``ROW_MULTIPLE`` rows: those
    nearest to the end of their sequence, shortest sequences first (they widen the attention blocks least). Their
    keys stay masked."""
    import torch

    extra = -int(real.sum()) % ROW_MULTIPLE
    if extra == 0:
        return real
    batch, length = attention_mask.shape
    position = torch.arange(length, device=real.device)
    ends = (real.view(batch, length) * (position + 1)).amax(1, keepdim=True)
    order = ((position - ends).clamp(min=0) * (length + 1) + ends).flatten().masked_fill(real, (length + 1) ** 2)
    picks = order.argsort(stable=True)[: min(extra, int((~real).sum()))]
    return real.clone().index_fill_(0, picks, True)


def attention_groups(spans: list[int]) -> list[tuple[list[int], int]]:
    """Sequences (by index) and the padded length each attention call of packed layers uses. One call for the
    whole batch unless splitting the length-sorted batch into ``ATTENTION_GROUPS`` calls cuts the attention
    matrices' cells (sum of sequences x length^2) to under ``SPLIT_BELOW`` of one call's: random batches of uneven
    lengths."""
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


def packed_rows(encoder: Any) -> Layout | None:
    """The layout whose rows the encoder's next forward runs on (None: it runs its stock forward)."""
    packing = encoder.__dict__.get(PACKING)
    if packing is None or not encoder.training or (packing.dense and packing.last_rows is None):
        return None
    return None if any(getattr(layer, "gradient_checkpointing", False) for layer in encoder.layer) else packing


def packed_encoder_forward(encoder: Any, hidden_states: Any, attention_mask: Any = None, *args: Any, **kwargs: Any):
    """The encoder's forward on the layout's rows (see the module docstring); the stock one outside
    :func:`packed_tokens`, in evaluation, with cross-attention, caches or gradient checkpointing."""
    packing = packed_rows(encoder)
    tokens = encoder.__dict__.pop(ROWS_IN, None)  # the embeddings computed the rows only
    other = args or any(kwargs.get(name) is not None for name in ("encoder_hidden_states", "cache", "past_key_values"))
    if packing is None or other:
        if tokens is not None:
            raise RuntimeError("bertkit: the embeddings computed rows for an encoder that runs its stock forward")
        return type(encoder)._bertkit_original.forward(encoder, hidden_states, attention_mask, *args, **kwargs)
    batch, length = hidden_states.shape[:2]
    if tokens is None:
        tokens = hidden_states.flatten(0, 1)
        if not packing.dense:
            tokens = tokens.index_select(0, packing.rows)
    masks = [group_mask(attention_mask, seqs, span, packing.dense) for seqs, _, span in packing.groups]
    layers = encoder.layer
    for number, layer in enumerate(layers):
        keep = packing.last_rows if number == len(layers) - 1 else None
        tokens = packed_layer_forward(layer, tokens, packing, masks, keep)
    positions = packing.out_positions()
    if ROWS_OUT in encoder.__dict__:  # the head reads the computed rows themselves, not the output
        encoder.__dict__[ROWS_OUT] = (positions, tokens)
        return encoder_output(tokens, None, batch, length)
    return encoder_output(tokens, positions, batch, length)


def encoder_output(tokens: Any, positions: Any, batch: int, length: int) -> Any:
    """The encoder's output: ``tokens`` at their flat ``positions``, zeros elsewhere (``positions`` None: zeros
    everywhere, without memory of their own)."""
    from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions

    if positions is None:
        full = tokens.new_zeros(()).expand(batch * length, tokens.shape[-1])
    else:
        full = tokens.new_zeros(batch * length, tokens.shape[-1]).index_copy(0, positions, tokens)
    return BaseModelOutputWithPastAndCrossAttentions(last_hidden_state=full.view(batch, length, -1))


def packed_layer_forward(layer: Any, tokens: Any, packing: Layout, masks: list[Any], keep: Any) -> Any:
    """One BERT-style layer on the N x H rows of ``packing`` (a :class:`Layout`): attention on the groups' padded
    blocks, the rest per row. With ``keep`` (indices into the rows) the output is computed for those rows only."""
    import torch
    import torch.nn.functional as F

    from bertkit.modeling.block_attention import block_attention
    from bertkit.modeling.fused_sublayers import attention_output, feed_forward, fusable
    from bertkit.modeling.speedups import attention_function, attention_with_fast_dropout

    attention = layer.attention.self
    projections = (attention.query, attention.key, attention.value)
    qkv = F.linear(
        tokens,
        torch.cat([p.weight for p in projections]),
        torch.cat([p.weight.new_zeros(p.out_features) if p.bias is None else p.bias for p in projections]),
    )
    sizes = [count * span for _, count, span in packing.groups]
    blocks = qkv if packing.gather is None else qkv.index_select(0, packing.gather)
    # split, not slicing: its backward is one concatenation, where each slice's would be a zero-filled full copy
    blocks = blocks.split([*sizes, len(blocks) - sum(sizes)])
    contexts = []
    function = attention_function(attention)
    dropout = attention.dropout.p if attention.training else 0.0
    fused = dropout > 0.0 and function is attention_with_fast_dropout
    for (_, count, span), block, mask in zip(packing.groups, blocks, masks, strict=False):
        if fused and (mask is None or mask.dtype == torch.bool):  # the same maths, one autograd node
            hidden = None if mask is None else ~mask
            heads = attention.num_attention_heads
            contexts.append(block_attention(block, hidden, count, span, heads, dropout, attention.scaling))
            continue
        block = block.view(count, span, 3, -1, attention.attention_head_size)
        context, _ = function(
            attention,
            *(block[:, :, i].transpose(1, 2) for i in range(3)),
            mask,
            dropout=dropout,
            scaling=attention.scaling,
        )
        contexts.append(context.reshape(count * span, -1))
    if packing.gather is None and len(qkv) > sum(sizes):  # blocked rows in no group attend to nothing
        contexts.append(qkv.new_zeros(len(qkv) - sum(sizes), contexts[0].shape[-1]))
    context = contexts[0] if len(contexts) == 1 else torch.cat(contexts)
    if packing.back is not None:
        context = context.index_select(0, packing.back)
    if keep is not None:
        context, tokens = context.index_select(0, keep), tokens.index_select(0, keep)
    if fusable(layer, tokens):  # the same maths as the two lines below, as two autograd nodes
        return feed_forward(layer, attention_output(layer.attention.output, context, tokens))
    attended = layer.attention.output(context, tokens)
    return layer.output(layer.intermediate(attended), attended)
