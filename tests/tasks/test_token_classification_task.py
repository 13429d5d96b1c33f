"""TokenClassificationTask: subword label alignment, windows, word-level scoring (each word once), errors."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

from bertkit.errors import DataError, RecipeError
from bertkit.recipes.schema import TokenClassificationTask as Spec
from bertkit.tasks.ner_scoring import entity_scores
from bertkit.tasks.token_classification import SCORED_WORDS, TokenClassificationTask
from bertkit.tasks.windows import IGNORE_INDEX, token_windows, tokenize_texts

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
# george | smith ##s | visited | london ##er | un ##believ ##able
WORDS = ["George", "Smiths", "visited", "Londoner", "unbelievable"]
TAGS = ["B-PER", "I-PER", "O", "B-LOC", "O"]


def splits_of(train, validation=None, test=None, labels=LABELS):
    import datasets

    def build(rows):
        if rows is None:
            return None
        feature = datasets.Features(
            {
                "tokens": datasets.List(datasets.Value("string")),
                "tags": datasets.List(datasets.ClassLabel(names=labels)),
            }
        )
        return datasets.Dataset.from_list(
            [{"tokens": words, "tags": [labels.index(t) for t in tags]} for words, tags in rows], features=feature
        )

    return SimpleNamespace(
        train=build(train), validation=build(validation), test=build(test), label_names=labels, sources={}
    )


def make_task(**spec):
    return TokenClassificationTask(Spec(type="token-classification", **spec))


def readable(tokenizer, features, row, labels=LABELS):
    pieces = tokenizer.convert_ids_to_tokens(features[row]["input_ids"])
    return [(p, labels[t] if t != IGNORE_INDEX else None) for p, t in zip(pieces, features[row]["labels"], strict=True)]


def test_labels_sit_on_the_first_subword_of_each_word(tokenizer):
    task = make_task()
    splits = splits_of([(WORDS, TAGS)])
    task.setup(splits)
    features = task.prepare(splits, tokenizer)["train"].features
    assert readable(tokenizer, features, 0) == [
        ("[CLS]", None),
        ("george", "B-PER"),
        ("smith", "I-PER"),
        ("##s", None),
        ("visited", "O"),
        ("london", "B-LOC"),
        ("##er", None),
        ("un", "O"),
        ("##believ", None),
        ("##able", None),
        ("[SEP]", None),
    ]


def test_label_all_subwords_continues_entities_with_inside_tags(tokenizer):
    task = make_task(label_all_subwords=True)
    splits = splits_of([(WORDS, TAGS)], [(WORDS, TAGS)])
    task.setup(splits)
    encoded = task.prepare(splits, tokenizer)
    assert [t for _, t in readable(tokenizer, encoded["train"].features, 0)] == [
        None,
        "B-PER",
        "I-PER",
        "I-PER",
        "O",
        "B-LOC",
        "I-LOC",  # B-LOC on a word's later subword would start a second entity
        "O",
        "O",
        "O",
        None,
    ]
    # Scoring labels never change: one per word, on its first subword.
    assert [t for _, t in readable(tokenizer, encoded["validation"].features, 0) if t] == TAGS


def long_sentence(n_words=40, seed=1):
    rng = random.Random(seed)
    vocabulary = ["paris", "unbelievable", "the", "city", "londoner", "smiths", "went", "to", "new", "york"]
    return [rng.choice(vocabulary) for _ in range(n_words)]


def windows_of(tokenizer, words, max_length=16, stride=4):
    tokenized = tokenize_texts(tokenizer, [words], is_split_into_words=True)
    return token_windows(tokenized, tokenizer, max_length=max_length, stride=stride)


def test_long_sentences_become_windows_and_every_word_is_scored_once(tokenizer):
    words = long_sentence()
    tags = ["O"] * len(words)
    task = make_task(max_length=16, stride=4)
    splits = splits_of([(words, tags), (WORDS, TAGS)], [(words, tags), (WORDS, TAGS)])
    task.setup(splits)
    encoded = task.prepare(splits, tokenizer)
    validation = encoded["validation"]
    assert validation.stats.examples == 2 and validation.stats.features > 3
    assert validation.stats.truncated == 0
    assert all(len(ids) <= 16 for ids in validation.features["input_ids"])
    scored = list(zip(validation.features["example_index"], validation.features[SCORED_WORDS], strict=True))
    assert sorted(w for ex, ws in scored if ex == 0 for w in ws) == list(range(len(words)))  # each word once
    assert sum(len(ws) for _, ws in scored) == len(words) + len(WORDS)
    assert any("split into overlapping windows" in note and "nothing is cut" in note for note in task.prepare_notes)
    # Training windows label every word of their window (overlaps are trained twice, never dropped).
    assert sum(label != IGNORE_INDEX for row in encoded["train"].features["labels"] for label in row) > len(words) + 5


def results_from(task, split, windows, predict):
    """Reduced results as the engine gathers them: predictions per window position, padded to max_length."""
    predictions = np.full((len(windows), task.max_length), IGNORE_INDEX, dtype=np.int32)
    for row, window in enumerate(windows):
        for pos in range(len(window.input_ids)):
            predictions[row, pos] = predict(row, window, pos)
    order = np.arange(len(windows))[::-1].copy()  # the engine evaluates longest first: any order must work
    return {"predictions": predictions[order], "feature_index": order}


def test_an_entity_in_the_overlap_of_two_windows_is_scored_once_from_its_owner(tokenizer):
    words = long_sentence(30)
    windows = windows_of(tokenizer, words)
    assert len(windows) >= 2
    first, second = windows[0], windows[1]
    shared = [w for p, w in enumerate(first.word_ids) if w is not None and first.word_start[p] and w in second.word_ids]
    target = shared[len(shared) // 2]  # a word both windows see
    tags = ["O"] * len(words)
    tags[target] = "B-LOC"
    task = make_task(max_length=16, stride=4)
    splits = splits_of([(words, tags)], [(words, tags)])
    task.setup(splits)
    validation = task.prepare(splits, tokenizer)["validation"]
    assert len(validation.features) == len(windows)
    loc = LABELS.index("B-LOC")

    def tag_everywhere(row, window, pos):  # both windows say B-LOC on the entity's first subword
        return loc if window.word_ids[pos] == target and window.word_start[pos] else 0

    scores = task.compute_metrics(results_from(task, validation, windows, tag_everywhere), validation)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 1.0  # one entity, counted once
    owner = next(
        k for k, w in enumerate(windows) for p in range(len(w.owned)) if w.owned[p] and w.word_ids[p] == target
    )

    def tag_only_elsewhere(row, window, pos):  # only the window that does NOT own the word finds it
        return tag_everywhere(row, window, pos) if row != owner else 0

    scores = task.compute_metrics(results_from(task, validation, windows, tag_only_elsewhere), validation)
    assert scores["recall"] == 0.0 and scores["f1"] == 0.0
    assert scores["accuracy"] == pytest.approx((len(words) - 1) / len(words))


def test_predictions_map_back_to_words_never_to_subwords(tokenizer):
    task = make_task()
    splits = splits_of([(WORDS, TAGS)], [(WORDS, TAGS)])
    task.setup(splits)
    validation = task.prepare(splits, tokenizer)["validation"]
    windows = windows_of(tokenizer, WORDS, max_length=task.max_length, stride=task.stride)
    word_tags = [LABELS.index(t) for t in TAGS]

    def first_right_rest_wrong(row, window, pos):  # later subwords say B-LOC: must not count
        word = window.word_ids[pos]
        if word is None:
            return 0
        return word_tags[word] if window.word_start[pos] else LABELS.index("B-LOC")

    results = results_from(task, validation, windows, first_right_rest_wrong)
    scores = task.compute_metrics(results, validation)
    assert scores == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "accuracy": 1.0, "f1_LOC": 1.0, "f1_PER": 1.0}
    [row] = task.postprocess(results, validation)
    assert row["tags"] == TAGS
    assert row["entities"] == [
        {"type": "PER", "start": 0, "end": 2, "text": "George Smiths"},
        {"type": "LOC", "start": 3, "end": 4, "text": "Londoner"},
    ]


def test_words_without_tokens_are_scored_as_outside(tokenizer):
    words, tags = ["George", "\u200b", "visited"], ["B-PER", "B-LOC", "O"]  # a zero-width space has no tokens
    task = make_task()
    splits = splits_of([(WORDS, TAGS)], [(words, tags)])
    task.setup(splits)
    validation = task.prepare(splits, tokenizer)["validation"]
    assert validation.features[SCORED_WORDS] == [[0, 2]]
    assert any("1 word(s) have no tokens" in note for note in task.prepare_notes)
    windows = windows_of(tokenizer, words)
    gold = [LABELS.index(t) for t in tags]
    results = results_from(
        task, validation, windows, lambda r, w, p: 0 if w.word_ids[p] is None else gold[w.word_ids[p]]
    )
    scores = task.compute_metrics(results, validation)
    assert scores["recall"] == 0.5 and scores["precision"] == 1.0  # the invisible LOC is missed, not dropped


def test_tags_only_in_evaluation_data_are_an_error(tokenizer):
    labels = [*LABELS, "B-ORG"]
    task = make_task()
    splits = splits_of([(WORDS, TAGS)], [(["Google"], ["B-ORG"])], labels=labels)
    with pytest.raises(DataError, match=r"validation split, sentence 1: tag 'B-ORG' does not occur in the training"):
        task.setup(splits)
    listed = make_task(labels=labels)  # listed in task.labels: a class on purpose
    assert listed.setup(splits)


def test_bioes_tags_need_the_bioes_scheme():
    labels = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    splits = splits_of([(["john", "smith"], ["B-PER", "E-PER"])], labels=labels)
    with pytest.raises(RecipeError, match=r"task\.tag_scheme: bioes"):
        make_task().setup(splits)
    task = make_task(tag_scheme="bioes")
    task.setup(splits)
    assert task.model_config_updates()["bertkit"]["tag_scheme"] == "BIOES"


def test_plain_tags_are_scored_by_word_accuracy(tokenizer):
    pos = ["DT", "NN", "VBD"]
    rows = [(["the", "king", "visited", "the", "city"], ["DT", "NN", "VBD", "DT", "NN"])]
    task = make_task()
    splits = splits_of(rows, rows, labels=pos)
    task.setup(splits)
    assert task.default_metric == "accuracy" and task.metric_names() == ["accuracy"]
    assert task.model_config_updates()["bertkit"]["tag_scheme"] is None
    validation = task.prepare(splits, tokenizer)["validation"]
    windows = windows_of(tokenizer, rows[0][0], max_length=task.max_length, stride=task.stride)
    results = results_from(task, validation, windows, lambda r, w, p: pos.index("NN"))
    assert task.compute_metrics(results, validation) == {"accuracy": 0.4}
    mixed = splits_of([(["john", "king"], ["B-PER", "NN"])], labels=["O", "B-PER", "NN"])
    with pytest.raises(DataError, match=r"mix entity tags \(B-PER\) and tags without a B-/I- prefix \(NN\)"):
        make_task().setup(mixed)


def test_config_carries_names_and_scheme():
    task = make_task(tag_scheme="iob1")
    task.setup(splits_of([(WORDS, TAGS)]))
    updates = task.model_config_updates()
    assert updates["id2label"] == dict(enumerate(LABELS))
    assert updates["bertkit"]["tag_scheme"] == "IOB2"  # IOB1 data is converted when it is read
    assert task.metric_names() == ["precision", "recall", "f1", "accuracy", "f1_LOC", "f1_PER"]


@pytest.mark.parametrize("scheme", ["IOB2", "BIOES"])
def test_entity_scores_equal_seqeval(scheme):
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
    from seqeval.metrics.sequence_labeling import precision_recall_fscore_support

    prefixes = "BIOES" if scheme == "BIOES" else "BIO"
    tags = ["O"] + [f"{p}-{t}" for p in prefixes if p != "O" for t in ("PER", "LOC", "ORG")]
    rng = random.Random(7)
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    predicted = [[t if rng.random() < 0.7 else rng.choice(tags) for t in sentence] for sentence in gold]
    ours = entity_scores(gold, predicted, scheme=scheme)
    assert ours["precision"] == pytest.approx(precision_score(gold, predicted))
    assert ours["recall"] == pytest.approx(recall_score(gold, predicted))
    assert ours["f1"] == pytest.approx(f1_score(gold, predicted))
    assert ours["accuracy"] == pytest.approx(accuracy_score(gold, predicted))
    _, _, per_type, _ = precision_recall_fscore_support(gold, predicted, average=None)
    assert [ours[f"f1_{t}"] for t in ("LOC", "ORG", "PER")] == pytest.approx(list(per_type))


def loss_setup(tokenizer, **spec):
    task = make_task(**spec)
    long_words = WORDS * 3
    splits = splits_of([(WORDS[:2], TAGS[:2]), (long_words, TAGS * 3)])
    task.setup(splits)
    task.pad_token_id = tokenizer.pad_token_id
    encoded = task.prepare(splits, tokenizer)
    return task, encoded["train"].features


class FixedLogits:
    """A stand-in model: the same logits for every call, whatever the inputs (labels are not passed to it)."""

    def __init__(self, logits):
        self.logits = logits

    def __call__(self, **inputs):
        import torch

        assert "labels" not in inputs
        return SimpleNamespace(logits=self.logits, loss=torch.tensor(float("nan")))


def test_token_weighted_loss_counts_every_labeled_token_the_same(tokenizer):
    import torch
    import torch.nn.functional as F

    task, features = loss_setup(tokenizer)
    labeled = [sum(1 for t in row if t != IGNORE_INDEX) for row in features["labels"]]
    assert labeled == [2, 15]  # first subword of each word
    assert task.labeled_per_feature == pytest.approx(8.5)
    batch = task.collate([features[i] for i in range(2)])
    logits = torch.randn(*batch["labels"].shape, len(LABELS), generator=torch.Generator().manual_seed(0))
    loss = task.training_loss(FixedLogits(logits), batch)
    per_token = F.cross_entropy(
        logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORE_INDEX, reduction="none"
    )
    assert float(loss) == pytest.approx(float(per_token.sum()) / (2 * 8.5), rel=1e-6)
    # a batch of the short sentence alone: its 2 tokens weigh 1/8.5 each, not 1/2 as in a per-batch mean
    short = task.collate([features[0]])
    short_loss = task.training_loss(FixedLogits(logits[:1, : short["labels"].shape[1]]), short)
    short_tokens = F.cross_entropy(
        logits[0, : short["labels"].shape[1]], short["labels"][0], ignore_index=IGNORE_INDEX, reduction="sum"
    )
    assert float(short_loss) == pytest.approx(float(short_tokens) / 8.5, rel=1e-6)


def test_per_batch_mean_loss_when_token_weighting_is_off(tokenizer):
    task, features = loss_setup(tokenizer, token_weighted_loss=False)
    assert task.labeled_per_feature is None
    batch = task.collate([features[0]])
    calls = []

    def forward(**inputs):
        calls.append(inputs)
        return SimpleNamespace(loss="the model's own")

    assert task.training_loss(forward, batch) == "the model's own"
    assert "labels" in calls[0]
