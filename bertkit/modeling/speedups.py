"""Training shortcuts that leave the model's maths unchanged (measured in bench/finetune.py, bench/ner.py).

- Cheaper CPU dropout masks. torch's CPU ``bernoulli_`` draws one random number per element, about 6 ns each:
  12% of a MiniLM step on SST-2. Here one 64-bit random word gives four 16-bit draws, and an element is kept when
  its draw is at or above ``round(p * 65536)`` of the 65536 values, so the drop rate is p to within 1/131072.
  The words come from torch's global generator: seeding, the RNG state saved in checkpoints and resuming work
  as with torch's dropout. Applied to ``nn.Dropout`` modules and, for models that follow transformers'
  AttentionInterface (BERT, RoBERTa, ELECTRA, ...), to attention-probability dropout.
- First-token last layer for sequence classification. The classifier of BERT-style models reads only the first
  position ([CLS]) of the last layer. That layer still needs keys and values of every position, but its query,
  attention output and feed-forward only for the first one: about 5/6 of a layer's matmuls are skipped (14% of
  a 6-layer model), and the logits are those of the full computation.
- Padding-free layers for token classification and masked-LM (training only, bertkit.modeling.packing): every
  layer's matmuls run on the batch's real tokens only, the last layer's feed-forward (and the masked-LM head)
  only at the positions the loss reads; on CPU their attention with dropout runs as one autograd function
  (bertkit.modeling.block_attention), and so do each layer's attention-output and feed-forward sublayers
  (bertkit.modeling.fused_sublayers). BERT's embeddings and a token classifier's head compute only those rows too
  (bertkit.modeling.layout_rows).

- Only the vocabulary rows the training data uses. Rows of the word-embedding matrix for tokens that never occur
  in the training features get an exactly-zero gradient at every step, so AdamW (without weight decay) never
  moves them. Training them as a compact matrix of the used rows skips the dense 30522 x H gradient, its norm and
  the optimizer's pass over the unused rows (SST-2 uses 11.6k of MiniLM's 30.5k rows, CoNLL-2003 14.1k).
  CPU and single process only (the compact rows are not a module parameter: DDP would not synchronise them and
  ``model.to`` would not move them); the full matrix is written back whenever the model's state is read
  (checkpoints, best model, saving) and the compact rows re-read whenever it is loaded (resume, best model).

Nothing here changes the weights or the saved config: a model trained with them loads and runs anywhere.
"""

from __future__ import annotations

from typing import Any

from bertkit.modeling.packing import encoder_of

ATTENTION_NAME = "bertkit_cpu"  # registered with transformers' AttentionInterface on first use
BERT_STYLE_FAMILIES = ("Bert", "Roberta", "XLMRoberta", "Camembert", "Electra")
FIRST_TOKEN_CLASSIFIERS = frozenset(f"{family}ForSequenceClassification" for family in BERT_STYLE_FAMILIES)
TOKEN_CLASSIFIERS = frozenset(f"{family}ForTokenClassification" for family in BERT_STYLE_FAMILIES)
_WORD_MIN = -(2**63)


# ------------------------------------------------------------------------------------------------- dropout
def keep_mask(shape: tuple[int, ...], p: float, device: Any = None) -> Any:
    """A boolean mask of ``shape``: True with probability 1 - p (to within 1/131072), from torch's global RNG."""
    import torch

    count = 1
    for size in shape:
        count *= int(size)
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device).random_(_WORD_MIN, None)
    threshold = -32768 + round(p * 65536)
    return words.view(torch.int16)[:count].view(shape) >= threshold


def fast_dropout(x: Any, p: float, training: bool = True) -> Any:
    """``torch.nn.functional.dropout`` with masks from :func:`keep_mask` (same scaling: kept values / (1 - p))."""
    import torch

    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return torch.zeros_like(x)
    # Two multiplications, not torch.where: the same values (x * 0 or x * 1, then the scale, rounded as torch's
    # dropout rounds), but the backward pass is two multiplications too instead of a where with new zeros.
    return x * keep_mask(tuple(x.shape), p, x.device).to(x.dtype) * (1.0 / (1.0 - p))


def _dropout_class() -> type:
    import torch

    class FastDropout(torch.nn.Dropout):
        """``nn.Dropout`` with :func:`fast_dropout`'s masks (no parameters: swapping the class changes nothing else)."""

        def forward(self, x):
            return fast_dropout(x, self.p, self.training)

    return FastDropout


def attention_with_fast_dropout(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention for transformers' AttentionInterface: SDPA when there is no dropout (eval, or p == 0), else the
    eager computation with :func:`fast_dropout` on the attention probabilities."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if dropout == 0.0 or not module.training:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, dropout=0.0, **kwargs)
    weights = torch.matmul(query, key.transpose(2, 3)) * (query.size(-1) ** -0.5 if scaling is None else scaling)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            weights = weights.masked_fill(~attention_mask, torch.finfo(weights.dtype).min)
        else:
            weights = weights + attention_mask
    weights = fast_dropout(torch.softmax(weights, dim=-1), dropout, True)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def register_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, attention_with_fast_dropout)
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, sdpa_mask)


def use_fast_dropout(model: Any) -> list[str]:
    """Swap the model's dropout for :func:`fast_dropout` (in place). Returns what was swapped, for the run's notes."""
    import torch

    fast = swapped_class(torch.nn.Dropout, "dropout", _dropout_class)
    swapped = 0
    for module in model.modules():
        if type(module) is torch.nn.Dropout:
            module.__class__ = fast
            swapped += 1
    done = [f"{swapped} dropout layers"] if swapped else []
    config = getattr(model, "config", None)
    can_set = getattr(model, "_can_set_attn_implementation", None)
    if config is not None and getattr(config, "_attn_implementation", None) == "sdpa" and can_set and can_set():
        register_attention()
        model.set_attn_implementation(ATTENTION_NAME)
        done.append("attention-probability dropout")
    return done


def restore_attention(model: Any) -> None:
    """Back to SDPA (the fast dropout attention only differs from it in training mode)."""
    config = getattr(model, "config", None)
    if config is not None and getattr(config, "_attn_implementation", None) == ATTENTION_NAME:
        model.set_attn_implementation("sdpa")


# ------------------------------------------------------------------------------------- first-token layer
def bert_style_layer(layer: Any) -> bool:
    attention = getattr(layer, "attention", None)
    self_attention = getattr(attention, "self", None)
    return (
        all(hasattr(self_attention, name) for name in ("query", "key", "value", "attention_head_size", "scaling"))
        and hasattr(attention, "output")
        and hasattr(layer, "intermediate")
        and hasattr(layer, "output")
        and not getattr(layer, "is_decoder", False)
    )


def first_token_forward(layer: Any, hidden_states: Any, attention_mask: Any = None, *args: Any, **kwargs: Any):
    """The forward of a BERT-style encoder layer for the first position only (output shape B x 1 x H)."""
    attention = layer.attention.self
    batch = hidden_states.shape[0]
    first = hidden_states[:, :1]

    def heads(projection: Any, states: Any) -> Any:
        return projection(states).view(batch, states.shape[1], -1, attention.attention_head_size).transpose(1, 2)

    mask = attention_mask
    if mask is not None and mask.dim() == 4 and mask.shape[-2] > 1:
        mask = mask[:, :, :1, :]
    context, _ = attention_function(attention)(
        attention,
        heads(attention.query, first),
        heads(attention.key, hidden_states),
        heads(attention.value, hidden_states),
        mask,
        dropout=attention.dropout.p if attention.training else 0.0,
        scaling=attention.scaling,
    )
    attended = layer.attention.output(context.reshape(batch, 1, -1).contiguous(), first)
    return layer.output(layer.intermediate(attended), attended)


def attention_function(attention: Any) -> Any:
    """The function the model's own attention calls (SDPA for 'eager': the masks it gets work with both)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    return ALL_ATTENTION_FUNCTIONS.get_interface(attention.config._attn_implementation, sdpa_attention_forward)


def use_first_token_last_layer(model: Any) -> bool:
    """Make a sequence classifier compute its last layer for the first position only. False when the model is
    not one whose head is known to read only that position, or its layers are not BERT-style."""
    if type(model).__name__ not in FIRST_TOKEN_CLASSIFIERS:
        return False
    last = last_layer(model)
    if last is None or not bert_style_layer(last):
        return False
    last.__class__ = swapped_class(type(last), "first_token", lambda: {"forward": first_token_forward})
    return True


def restore_last_layer(model: Any) -> None:
    last = last_layer(model)
    if last is not None and getattr(type(last), "_bertkit_original", None) is not None:
        last.__class__ = type(last)._bertkit_original


def last_layer(model: Any) -> Any:
    """The model's last encoder layer (None when it has no ``base_model.encoder.layer``)."""
    layers = getattr(encoder_of(model), "layer", None)
    return layers[-1] if layers else None


# ------------------------------------------------------------------------------------------- used rows
def training_token_ids(features: Any) -> set[int]:
    """Every token id in the ``input_ids`` column of a datasets.Dataset of encoded features."""
    column = features.data.column("input_ids")
    try:
        import pyarrow.compute as pc

        return {int(x) for x in pc.unique(pc.list_flatten(column)).to_pylist()}
    except (ImportError, TypeError, ValueError):
        return {int(x) for ids in column.to_pylist() for x in ids}


def _rows_embedding_class() -> type:
    import torch
    import torch.nn.functional as F

    class UsedRowsEmbedding(torch.nn.Embedding):
        """An ``nn.Embedding`` whose trainable rows live in a compact parameter (see :func:`use_used_rows`)."""

        def forward(self, input_ids):
            rows, index = self.__dict__["_bertkit_rows"], self.__dict__["_bertkit_index"]
            compact = index[input_ids]
            used = compact >= 0
            out = F.embedding(compact.clamp(min=0), rows)
            if not bool(used.all()):  # tokens training never saw (evaluation data): their rows never change
                out = torch.where(used.unsqueeze(-1), out, F.embedding(input_ids, self.weight))
            return out

    return UsedRowsEmbedding


def use_used_rows(model: Any, token_ids: set[int]) -> Any:
    """Train only the word-embedding rows of ``token_ids``; returns the compact parameter (None when not applied:
    embeddings tied to an output layer, not a plain ``nn.Embedding``, frozen, or too few rows unused to gain)."""
    import torch

    embeddings = model.get_input_embeddings()
    if type(embeddings) is not torch.nn.Embedding or model.get_output_embeddings() is not None:
        return None
    weight = embeddings.weight
    if not weight.requires_grad:
        return None
    vocabulary = weight.shape[0]
    ids = sorted(i for i in token_ids if 0 <= i < vocabulary and i != embeddings.padding_idx)
    if len(ids) > 0.8 * vocabulary:
        return None
    ids_tensor = torch.tensor(ids, dtype=torch.long, device=weight.device)
    index = torch.full((vocabulary,), -1, dtype=torch.long, device=weight.device)
    index[ids_tensor] = torch.arange(len(ids), device=weight.device)
    rows = torch.nn.Parameter(weight.detach()[ids_tensor].clone())
    weight.requires_grad_(False)

    def write_back(module: Any, *args: Any) -> None:
        with torch.no_grad():
            module.weight.index_copy_(0, ids_tensor, rows.detach())

    def read_rows(module: Any, *args: Any) -> None:
        with torch.no_grad():
            rows.copy_(module.weight[ids_tensor])

    handles = [
        embeddings.register_state_dict_pre_hook(write_back),
        embeddings.register_load_state_dict_post_hook(read_rows),
    ]
    # Plain attributes, not registered: the model's parameters and state_dict keys stay those of transformers.
    embeddings.__dict__.update(
        _bertkit_rows=rows, _bertkit_index=index, _bertkit_handles=handles, _bertkit_write=write_back
    )
    embeddings.__class__ = swapped_class(torch.nn.Embedding, "used_rows", _rows_embedding_class)
    return rows


def extra_parameters(model: Any) -> list[Any]:
    """Trainable tensors the speed-ups keep outside the model's parameters (for the optimizer and clipping)."""
    rows = model.get_input_embeddings().__dict__.get("_bertkit_rows")
    return [] if rows is None else [rows]


def restore_embeddings(model: Any) -> None:
    import torch

    embeddings = model.get_input_embeddings()
    if "_bertkit_rows" not in embeddings.__dict__:
        return
    embeddings.__dict__["_bertkit_write"](embeddings)
    for handle in embeddings.__dict__["_bertkit_handles"]:
        handle.remove()
    for key in ("_bertkit_rows", "_bertkit_index", "_bertkit_handles", "_bertkit_write"):
        del embeddings.__dict__[key]
    embeddings.__class__ = torch.nn.Embedding
    embeddings.weight.requires_grad_(True)


# ------------------------------------------------------------------------------------------------- engine
def apply_speedups(
    model: Any, *, device_type: str, head_reads: str = "all", token_ids: set[int] | None = None
) -> list[str]:
    """Apply what fits this model and device; returns a note for the run log (empty when nothing applied).

    ``head_reads``: what of the last layer the task's training loss reads ("first": position 0, "labeled": the
    positions with a label, inside :func:`bertkit.modeling.packing.packed_tokens`, "all"). ``token_ids``: the ids
    in the training features, when only their embedding rows may be trained (one process, no weight decay); the
    caller then adds :func:`extra_parameters` to the optimizer."""
    applied = []
    if head_reads == "first" and use_first_token_last_layer(model):
        applied.append("the last layer computed for the [CLS] position only (the classifier reads no other)")
    if head_reads == "labeled":
        applied += use_packing(model)
    if token_ids is not None and device_type == "cpu":  # the compact rows are not moved with the model
        rows = use_used_rows(model, token_ids)
        if rows is not None:
            total = model.get_input_embeddings().weight.shape[0]
            applied.append(f"only the {rows.shape[0]:,} of {total:,} word-embedding rows the training data uses")
    if device_type == "cpu":
        swapped = use_fast_dropout(model)
        if swapped:
            applied.append(f"CPU dropout masks drawn four per 64-bit random word ({', '.join(swapped)})")
    if not applied:
        return []
    return ["speed-ups (same maths; training.speedups=false turns them off): " + "; ".join(applied)]


def use_packing(model: Any) -> list[str]:
    """Padding-free layers for token classifiers and masked-LM models, and a masked-positions-only MLM head."""
    from bertkit.modeling.layout_rows import use_rows_embeddings, use_token_rows_head
    from bertkit.modeling.masked_rows import MLM_HEADS, use_masked_rows_head
    from bertkit.modeling.packing import use_packed_encoder

    done = []
    known = type(model).__name__ in TOKEN_CLASSIFIERS or type(model).__name__ in MLM_HEADS
    if known and use_packed_encoder(model, bert_style_layer):
        done.append("layers run on the real tokens only (no padding), the last one at labeled positions only")
        if use_rows_embeddings(model):
            done.append("the embeddings computed for those rows only")
        if use_token_rows_head(model):
            done.append("the token-classification head at labeled positions only")
    if use_masked_rows_head(model):
        done.append("the masked-LM head computed at masked positions only")
    return done


def remove_speedups(model: Any) -> None:
    """Give the model back its stock forward passes (before it is handed to code that may need every position)."""
    import torch

    from bertkit.modeling.layout_rows import restore_embeddings_rows, restore_token_rows_head
    from bertkit.modeling.masked_rows import restore_mlm_head
    from bertkit.modeling.packing import restore_encoder

    restore_token_rows_head(model)
    restore_embeddings_rows(model)
    restore_embeddings(model)
    restore_last_layer(model)
    restore_encoder(model)
    restore_mlm_head(model)
    restore_attention(model)
    for module in model.modules():
        original = getattr(type(module), "_bertkit_original", None)
        if original is torch.nn.Dropout:
            module.__class__ = original


_SWAPPED: dict[tuple[type, str], type] = {}


def swapped_class(base: type, kind: str, make: Any) -> type:
    """A subclass of ``base`` with bertkit's forward (made once per base class). ``make`` returns either the class
    itself or the attributes to add; the subclass remembers ``base`` so that :func:`remove_speedups` can undo it."""
    if (base, kind) not in _SWAPPED:
        made = make()
        cls = made if isinstance(made, type) else type(f"{base.__name__}_{kind}", (base,), made)
        cls._bertkit_original, cls._bertkit_kind = base, kind
        _SWAPPED[base, kind] = cls
    return _SWAPPED[base, kind]
