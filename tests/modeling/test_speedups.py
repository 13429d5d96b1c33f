"""bertkit.modeling.speedups: the shortcuts keep the maths (outputs and gradients) of the stock model."""

from __future__ import annotations

import copy

import pytest
import torch

from bertkit.modeling import speedups

VOCAB = 99


def tiny(arch: str, num_labels: int = 3, head: str = "SequenceClassification", **dropouts):
    import transformers

    settings = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=64,
        num_labels=num_labels,
        hidden_dropout_prob=dropouts.get("hidden", 0.0),
        attention_probs_dropout_prob=dropouts.get("attention", 0.0),
        pad_token_id=0,
    )
    if arch == "Electra":
        settings["embedding_size"] = 24
    config = getattr(transformers, f"{arch}Config")(**settings)
    torch.manual_seed(0)
    return getattr(transformers, f"{arch}For{head}")(config)


def padded_batch(seed: int = 1) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths = [9, 4, 7, 2]
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(5, VOCAB, (length,), generator=generator)
        mask[row, :length] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([0, 2, 1, 2])}


def loss_and_grads(model, batch):
    model.zero_grad()
    out = model(**batch)
    out.loss.backward()
    return out.logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


# ------------------------------------------------------------------------------------------------ dropout
def test_keep_mask_keeps_one_minus_p_and_follows_the_global_seed():
    torch.manual_seed(3)
    mask = speedups.keep_mask((1000, 1000), 0.1)
    assert mask.dtype == torch.bool and mask.shape == (1000, 1000)
    assert abs(mask.float().mean().item() - 0.9) < 0.002  # 1e6 draws: sd 0.0003
    # every one of the four 16-bit lanes of a word is used, and each is unbiased
    lanes = mask.reshape(-1, 4).float().mean(dim=0)
    assert torch.all((lanes - 0.9).abs() < 0.003), lanes
    torch.manual_seed(3)
    assert torch.equal(speedups.keep_mask((1000, 1000), 0.1), mask)
    assert not torch.equal(speedups.keep_mask((1000, 1000), 0.1), mask)


@pytest.mark.parametrize("p", [0.02, 0.5])
def test_keep_mask_other_rates_and_odd_sizes(p):
    mask = speedups.keep_mask((7, 13, 1001), p)  # not a multiple of four elements
    assert mask.shape == (7, 13, 1001)
    assert abs(mask.float().mean().item() - (1 - p)) < 0.005


def test_dropout_scales_kept_values_and_its_gradient_is_the_mask():
    x = torch.randn(64, 300, requires_grad=True)
    out = speedups.fast_dropout(x, 0.25, training=True)
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / 0.75)
    out.sum().backward()
    assert torch.allclose(x.grad, kept.float() / 0.75)
    assert speedups.fast_dropout(x, 0.25, training=False) is x
    assert torch.equal(speedups.fast_dropout(x, 1.0), torch.zeros_like(x))


def test_fast_dropout_changes_no_output_in_eval_and_undoes_cleanly():
    model = tiny("Bert", hidden=0.1, attention=0.1).eval()
    batch = padded_batch()
    with torch.no_grad():
        before = model(**batch).logits
    notes = speedups.use_fast_dropout(model)
    assert notes == ["8 dropout layers", "attention-probability dropout"]
    assert model.config._attn_implementation == speedups.ATTENTION_NAME
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, before, atol=1e-6)
    clone = copy.deepcopy(model)  # copies keep working
    with torch.no_grad():
        assert torch.allclose(clone(**batch).logits, before, atol=1e-6)
    speedups.remove_speedups(model)
    assert model.config._attn_implementation == "sdpa"
    assert all(type(m) is not speedups._SWAPPED.get((torch.nn.Dropout, "dropout")) for m in model.modules())


def test_attention_dropout_path_equals_the_stock_attention_when_nothing_is_dropped():
    # p below 1/131072 rounds to a threshold that keeps everything: the eager-with-dropout path must then give
    # exactly the stock model's training-mode outputs and gradients (with the padding mask applied).
    stock = tiny("Bert", attention=1e-7).train()
    fast = copy.deepcopy(stock)
    speedups.use_fast_dropout(fast)
    batch = padded_batch()
    logits, grads = loss_and_grads(stock, batch)
    fast_logits, fast_grads = loss_and_grads(fast, batch)
    assert torch.allclose(fast_logits, logits, atol=1e-5)
    for name, grad in grads.items():
        assert torch.allclose(fast_grads[name], grad, atol=1e-5), name


def test_training_with_fast_dropout_is_reproducible_from_the_seed():
    model = tiny("Bert", hidden=0.1, attention=0.1).train()
    speedups.use_fast_dropout(model)
    batch = padded_batch()
    torch.manual_seed(5)
    first = model(**batch).logits
    torch.manual_seed(5)
    assert torch.equal(model(**batch).logits, first)
    assert not torch.equal(model(**batch).logits, first)  # the masks do change from step to step


# ------------------------------------------------------------------------------------- first-token layer
@pytest.mark.parametrize("arch", ["Bert", "Roberta", "Electra"])
def test_first_token_last_layer_gives_the_same_logits_and_gradients(arch):
    stock = tiny(arch).train()  # dropout 0: training mode without randomness
    short = copy.deepcopy(stock)
    assert speedups.use_first_token_last_layer(short)
    batch = padded_batch()
    logits, grads = loss_and_grads(stock, batch)
    short_logits, short_grads = loss_and_grads(short, batch)
    assert torch.allclose(short_logits, logits, atol=1e-5)
    assert set(short_grads) == set(grads)  # every parameter still takes part
    for name, grad in grads.items():
        assert torch.allclose(short_grads[name], grad, atol=1e-5), name
    with torch.no_grad():
        hidden = short.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    assert hidden.last_hidden_state.shape[1] == 1
    speedups.restore_last_layer(short)
    with torch.no_grad():
        hidden = short.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    assert hidden.last_hidden_state.shape[1] == batch["input_ids"].shape[1]


def test_first_token_last_layer_with_fast_dropout_and_bf16_autocast():
    stock = tiny("Bert", attention=1e-7).train()
    fast = copy.deepcopy(stock)
    notes = speedups.apply_speedups(fast, device_type="cpu", head_reads="first")
    assert len(notes) == 1 and "[CLS] position only" in notes[0] and "dropout" in notes[0]
    batch = padded_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, _ = loss_and_grads(stock, batch)
        fast_logits, _ = loss_and_grads(fast, batch)
    assert torch.allclose(fast_logits.float(), logits.float(), atol=3e-2)


def test_models_it_does_not_know_are_left_alone():
    from transformers import (
        BertConfig,
        BertForTokenClassification,
        DistilBertConfig,
        DistilBertForSequenceClassification,
    )

    config = BertConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    assert not speedups.use_first_token_last_layer(BertForTokenClassification(config))
    distil = DistilBertForSequenceClassification(
        DistilBertConfig(vocab_size=VOCAB, dim=32, n_layers=1, n_heads=2, hidden_dim=32)
    )
    assert not speedups.use_first_token_last_layer(distil)
    assert speedups.apply_speedups(distil, device_type="cuda", head_reads="first") == []


# -------------------------------------------------------------------------------------------- used rows
def adamw_steps(model, params, batches, steps=3):
    optimizer = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)
    for step in range(steps):
        optimizer.zero_grad()
        model(**batches[step % len(batches)]).loss.backward()
        optimizer.step()


def test_used_rows_train_exactly_like_the_full_matrix_and_leave_the_other_rows_alone():
    stock = tiny("Bert").train()
    fast = copy.deepcopy(stock)
    batches = [padded_batch(1), padded_batch(2)]
    used = set().union(*(b["input_ids"].unique().tolist() for b in batches))
    rows = speedups.use_used_rows(fast, used)
    assert rows is not None and rows.shape == (len(used - {0}), 32)  # the padding row (padding_idx) never trains
    assert "bert.embeddings.word_embeddings.weight" in dict(fast.named_parameters())  # keys unchanged
    adamw_steps(stock, list(stock.parameters()), batches)
    adamw_steps(fast, [p for p in fast.parameters() if p.requires_grad] + speedups.extra_parameters(fast), batches)
    state = fast.state_dict()  # reading the state writes the compact rows back into the full matrix
    for name, value in stock.state_dict().items():
        assert torch.allclose(state[name], value, atol=1e-6), name
    before = tiny("Bert").bert.embeddings.word_embeddings.weight
    unused = sorted(set(range(VOCAB)) - used)
    assert torch.equal(state["bert.embeddings.word_embeddings.weight"][unused], before[unused])


def test_used_rows_look_up_unseen_tokens_and_follow_loaded_weights():
    model = tiny("Bert").eval()
    batch = padded_batch(1)
    with torch.no_grad():
        expected = model(**batch).logits
    speedups.use_used_rows(model, {5, 6, 7})  # most tokens of the batch are outside the trained rows
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, expected, atol=1e-6)
    other = tiny("Bert")
    with torch.no_grad():
        other.bert.embeddings.word_embeddings.weight.add_(1.0)
    model.load_state_dict(other.state_dict())  # e.g. resuming, or loading the best checkpoint
    rows = speedups.extra_parameters(model)[0]
    assert torch.equal(rows, other.bert.embeddings.word_embeddings.weight[[5, 6, 7]])
    speedups.remove_speedups(model)
    assert type(model.bert.embeddings.word_embeddings) is torch.nn.Embedding
    assert model.bert.embeddings.word_embeddings.weight.requires_grad
    assert speedups.extra_parameters(model) == []


def test_used_rows_are_not_used_when_the_embeddings_are_tied_or_most_rows_train():
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    assert speedups.use_used_rows(BertForMaskedLM(config), {5, 6}) is None  # the decoder shares the matrix
    assert speedups.use_used_rows(tiny("Bert"), set(range(VOCAB))) is None


def test_training_token_ids_reads_the_features_column():
    import datasets

    features = datasets.Dataset.from_dict({"input_ids": [[2, 7, 3], [2, 9, 9, 3]], "labels": [0, 1]})
    assert speedups.training_token_ids(features) == {2, 3, 7, 9}
