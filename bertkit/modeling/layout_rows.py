"""The embeddings and the token-classification head on the rows the packed layers use (a speed-up of
bertkit.modeling.packing; same maths).

Within bertkit.modeling.packing.packed_tokens the encoder layers run on the layout's rows only, but the stock
embeddings still compute every position of the padded batch (word + position + token type, LayerNorm, dropout) and
the stock token-classification head every position of the encoder's output (dropout, classifier). With batches of
2 length chunks, 29% of CoNLL-2003's padded batch cells are padding, and the head's loss reads only the labeled
positions (73% of the real tokens). Here:
- BERT's embeddings compute the layout's rows only, and hand them to the packed encoder;
- a token classifier's dropout and classifier run on the encoder's computed rows only; the logits of every other
  position are zeros (the loss reads none of them: their labels are the ignore index).
Each row gets exactly the stock values (position ids are the row's place in its sequence); only the number of
dropout draws changes, not their distribution. Training only: evaluation and prediction run the stock forward.
"""

from __future__ import annotations

from typing import Any

from bertkit.modeling.packing import PACKING, ROWS_IN, ROWS_OUT, encoder_of, packed_rows

ROWS_EMBEDDINGS = frozenset({"BertEmbeddings"})  # default position ids 0..L-1, no projection after them


def use_rows_embeddings(model: Any) -> bool:
    """Let BERT's embeddings compute the layout's rows only inside packed_tokens (False: not BERT's embeddings)."""
    from bertkit.modeling.speedups import swapped_class

    embeddings = getattr(getattr(model, "base_model", None), "embeddings", None)
    if type(embeddings).__name__ not in ROWS_EMBEDDINGS or encoder_of(model) is None:
        return False
    embeddings.__dict__["_bertkit_encoder"] = encoder_of(model)
    embeddings.__class__ = swapped_class(type(embeddings), "rows", lambda: {"forward": rows_embeddings_forward})
    return True


def rows_embeddings_forward(embeddings: Any, input_ids: Any = None, token_type_ids: Any = None, *args, **kwargs):
    """The stock embeddings, but at the layout's rows only when the encoder is about to run packed on them."""
    stock = type(embeddings)._bertkit_original.forward
    encoder = embeddings.__dict__["_bertkit_encoder"]
    packing = packed_rows(encoder)
    plain = args or any(kwargs.get(name) is not None for name in ("position_ids", "inputs_embeds"))
    if packing is None or packing.dense or plain or input_ids is None or not embeddings.training:
        return stock(embeddings, input_ids, token_type_ids, *args, **kwargs)
    batch, length = input_ids.shape
    rows = packing.rows
    ids = input_ids.flatten().index_select(0, rows)[None]
    types = None if token_type_ids is None else token_type_ids.flatten().index_select(0, rows)[None]
    # BERT's default position ids are 0..L-1 in every sequence (kwargs: cache_length, 0 in training)
    rest = {k: v for k, v in kwargs.items() if k not in ("position_ids", "inputs_embeds")}
    found = stock(embeddings, ids, types, position_ids=(rows % length)[None], **rest)[0]
    encoder.__dict__[ROWS_IN] = found
    return found.new_zeros(()).expand(batch, length, found.shape[-1])  # shape and dtype only (attention masks)


def restore_embeddings_rows(model: Any) -> None:
    embeddings = getattr(getattr(model, "base_model", None), "embeddings", None)
    if getattr(type(embeddings), "_bertkit_kind", None) == "rows":
        embeddings.__class__ = type(embeddings)._bertkit_original
        embeddings.__dict__.pop("_bertkit_encoder", None)


def use_token_rows_head(model: Any) -> bool:
    """Let a BERT-style token classifier run its head on the encoder's computed rows only inside packed_tokens."""
    from bertkit.modeling.speedups import TOKEN_CLASSIFIERS, swapped_class

    if type(model).__name__ not in TOKEN_CLASSIFIERS or not all(hasattr(model, n) for n in ("dropout", "classifier")):
        return False
    model.__class__ = swapped_class(type(model), "token_rows", lambda: {"forward": token_rows_forward})
    return True


def token_rows_forward(model: Any, input_ids: Any = None, attention_mask: Any = None, *args: Any, **kwargs: Any):
    """The stock forward of a ``*ForTokenClassification`` model, with its head on the computed rows only."""
    import torch
    from transformers.modeling_outputs import TokenClassifierOutput

    stock = type(model)._bertkit_original.forward
    encoder = encoder_of(model)
    labels = kwargs.pop("labels", None)
    extra = ("output_hidden_states", "output_attentions")
    plain = args or input_ids is None or kwargs.get("return_dict") is False or any(kwargs.get(n) for n in extra)
    if plain or encoder.__dict__.get(PACKING) is None or not model.training:
        return stock(model, input_ids, attention_mask, *args, labels=labels, **kwargs)
    kwargs.pop("return_dict", None)  # passed below
    encoder.__dict__[ROWS_OUT] = None
    try:
        base = model.base_model(input_ids, attention_mask=attention_mask, return_dict=True, **kwargs)
        rows = encoder.__dict__[ROWS_OUT]
    finally:
        encoder.__dict__.pop(ROWS_OUT, None)
    if rows is None:  # the encoder ran its stock forward: every position was computed
        logits = model.classifier(model.dropout(base.last_hidden_state))
    else:
        positions, hidden = rows
        computed = model.classifier(model.dropout(hidden))
        flat = computed.new_zeros(input_ids.numel(), computed.shape[-1]).index_copy(0, positions, computed)
        logits = flat.view(*input_ids.shape, -1)
    loss = None
    if labels is not None:
        loss = torch.nn.functional.cross_entropy(logits.view(-1, model.num_labels), labels.view(-1))
    return TokenClassifierOutput(loss=loss, logits=logits)


def restore_token_rows_head(model: Any) -> None:
    if getattr(type(model), "_bertkit_kind", None) == "token_rows":
        model.__class__ = type(model)._bertkit_original
