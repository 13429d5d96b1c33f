"""Tiny BERT models and a WordPiece vocabulary written by the tests (built in about a second, no network)."""

from __future__ import annotations

import string
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = """
the a an and or of to in on at by for with from is are was were be been it this that these those i you he she
we they my your his her our their me him them not no yes very good bad great terrible awful love loved hate
hated like product movie film book food service place fun boring happy sad nice poor best worst excellent
capital france paris city new york london berlin germany george washington john smith mary went lives works
visited company google apple bank river who what where when why how which many much did does do answer
question born year years old first last name hello world today yesterday morning story plot actor actors
great music song day night time people man woman child house car road school university president king
queen war peace north south east west one two three four five six seven eight nine ten
""".split()
PIECES = ["wash", "##ing", "##ton", "un", "##believ", "##able", "##s", "##ed", "##ly", "##er"]


def vocab_tokens() -> list[str]:
    letters = list(string.ascii_lowercase) + list(string.digits)
    punct = list(".,!?;:'\"()-[]/&%$#@*+=<>")
    tokens = SPECIAL + punct + letters + [f"##{c}" for c in letters] + WORDS + PIECES
    seen: dict[str, None] = {}
    for tok in tokens:
        seen.setdefault(tok, None)
    return list(seen)


def write_tokenizer(folder: Path, *, max_length: int = 128):
    from transformers import BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(vocab_tokens())}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True, model_max_length=max_length)
    tokenizer.save_pretrained(folder)
    return tokenizer


def tiny_config(**overrides):
    from transformers import BertConfig

    settings = dict(
        vocab_size=len(vocab_tokens()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        type_vocab_size=2,
        initializer_range=0.3,  # peaked outputs: no near-ties between top predictions in comparisons
    )
    settings.update(overrides)
    return BertConfig(**settings)


def build_model(folder: Path, model_cls_name: str, *, seed: int = 0, max_length: int = 128, **overrides):
    """Save a randomly initialised (seeded) tiny model of class ``model_cls_name`` with its tokenizer."""
    import torch
    import transformers

    torch.manual_seed(seed)
    write_tokenizer(folder, max_length=max_length)
    config = tiny_config(max_position_embeddings=max(max_length, 16), **overrides)
    model = getattr(transformers, model_cls_name)(config)
    model.eval()
    model.save_pretrained(folder)
    return model
