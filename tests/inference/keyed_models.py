"""Tiny models whose outputs are known in advance: each token id maps to a chosen label (or answer strength)
whatever its context, so long-text windowing can be checked exactly.

No encoder layers, position and type embeddings zeroed: the hidden state of a token is LayerNorm(its word
embedding). A word embedding is one-hot on the dimension of the token's label, and the head reads those
dimensions, so a token's prediction depends on its id alone, except where a test asks for "blind" positions.
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny import build_model, vocab_tokens

NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
TOKEN_LABELS = {
    "john": "B-PER",
    "mary": "B-PER",
    "smith": "I-PER",
    "paris": "B-LOC",
    "london": "B-LOC",
    "berlin": "B-LOC",
    "new": "B-LOC",
    "york": "I-LOC",
    "google": "B-ORG",
    "apple": "B-ORG",
    "bank": "I-ORG",
    "un": "B-ORG",  # "unbelievable" = un ##believ ##able: an ORG word by its first subword
}
KEYED_MAX_LENGTH = 64
BLIND_DEPTH = 3  # positions this close to a window edge are read as "O" by the edge-blind tagger
# Answer strengths (start, end) of the QA model, in units of one LayerNorm'd one-hot dimension.
ANSWER_STRENGTH = {
    "paris": (6.0, 6.0),
    "berlin": (5.0, 5.0),
    "london": (4.0, 4.0),
    "new": (4.5, 0.0),
    "york": (0.0, 4.5),
}
NULL_STRENGTH = 1.0  # the [CLS] token's start and end strength: beats filler, loses to any city


def blind_positions(window_length: int, depth: int = BLIND_DEPTH) -> list[int]:
    """Content positions within ``depth`` tokens of either edge of a full window (position 0 is [CLS])."""
    return list(range(1, depth + 1)) + list(range(window_length - 1 - depth, window_length - 1))


def build_keyed_tagger(folder: Path, *, max_length: int = KEYED_MAX_LENGTH, edge_blind: bool = True):
    """A token classifier labelling every token by TOKEN_LABELS ("O" otherwise).

    With ``edge_blind`` it sees nothing within BLIND_DEPTH tokens of the edges of a ``max_length`` window
    (those positions are read as "O"), like a real model short of context, so a wrong merge of overlapping
    windows loses entities.
    """
    import torch

    model = build_model(
        folder,
        "BertForTokenClassification",
        max_length=max_length,
        num_hidden_layers=0,
        num_labels=len(NER_LABELS),
        id2label=dict(enumerate(NER_LABELS)),
        label2id={label: i for i, label in enumerate(NER_LABELS)},
    )
    with torch.no_grad():
        zero_embeddings(model.bert.embeddings)
        words = model.bert.embeddings.word_embeddings.weight
        for token_id, token in enumerate(vocab_tokens()):
            words[token_id, NER_LABELS.index(TOKEN_LABELS.get(token, "O"))] = 1.0
        if edge_blind:
            for pos in blind_positions(max_length):
                model.bert.embeddings.position_embeddings.weight[pos, 0] = 10.0
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        for label in range(len(NER_LABELS)):
            model.classifier.weight[label, label] = 1.0
    model.save_pretrained(folder)
    return folder


def build_keyed_qa(folder: Path, *, max_length: int = KEYED_MAX_LENGTH):
    """A span model whose start/end logits peak on the tokens of ANSWER_STRENGTH; [CLS] is the null answer."""
    import torch

    model = build_model(folder, "BertForQuestionAnswering", max_length=max_length, num_hidden_layers=0)
    vocab = {token: i for i, token in enumerate(vocab_tokens())}
    keyed = ["[CLS]", *ANSWER_STRENGTH]
    with torch.no_grad():
        zero_embeddings(model.bert.embeddings)
        words = model.bert.embeddings.word_embeddings.weight
        words[:, 0] = 1.0  # filler tokens: dimension 0, read as strength 0
        head = model.qa_outputs
        head.weight.zero_()
        head.bias.zero_()
        for dim, token in enumerate(keyed, start=1):
            words[vocab[token], 0] = 0.0
            words[vocab[token], dim] = 1.0
            start, end = (NULL_STRENGTH, NULL_STRENGTH) if token == "[CLS]" else ANSWER_STRENGTH[token]
            head.weight[0, dim] = start
            head.weight[1, dim] = end
    model.save_pretrained(folder)
    return folder


def zero_embeddings(embeddings) -> None:
    embeddings.word_embeddings.weight.zero_()
    embeddings.position_embeddings.weight.zero_()
    embeddings.token_type_embeddings.weight.zero_()


FILLER = ["the", "city", "of", "and", "went", "to", "was", "in", "a", "great", "day", ".", ","]
ENTITIES = [
    ("John Smith", "PER"),
    ("Mary", "PER"),
    ("Paris", "LOC"),
    ("London", "LOC"),
    ("Berlin", "LOC"),
    ("New York", "LOC"),
    ("Google", "ORG"),
    ("Apple Bank", "ORG"),
    ("unbelievable", "ORG"),
]


def keyed_document(n_words: int = 420, seed: int = 0) -> tuple[str, list[tuple[str, str, int, int]]]:
    """A long text dense with entities (one to three filler words apart) and the entities the keyed tagger
    must find: ``(text, type, start, end)``. Five filler words at each end keep entities off the text edges."""
    import random

    rng = random.Random(seed)
    words: list[str] = [rng.choice(FILLER[:11]) for _ in range(5)]
    expected = []
    position = sum(len(w) + 1 for w in words)
    while len(words) < n_words:
        name, kind = rng.choice(ENTITIES)
        expected.append((name, kind, position, position + len(name)))
        fillers = [rng.choice(FILLER) for _ in range(rng.randint(1, 3))]
        words += [name, *fillers]
        position += len(name) + 1 + sum(len(w) + 1 for w in fillers)
    words += [rng.choice(FILLER[:11]) for _ in range(5)]
    return " ".join(words), expected


def filler_context(n_words: int, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    return [rng.choice(FILLER[:11]) for _ in range(n_words)]
