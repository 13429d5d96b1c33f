"""The evaluation runner on tiny models: every reported number recomputed independently (scikit-learn, seqeval, the
official SQuAD formulas) from predictions.jsonl; chunked evaluation equals whole-split evaluation and the task's
own scoring; label checks; truncation and window counts."""

from __future__ import annotations

import csv
import json
import re
import string
from collections import Counter
from pathlib import Path

import pytest

from bertkit.errors import DataError
from bertkit.evaluation import load_report
from bertkit.evaluation.pipeline import run_evaluation
from bertkit.evaluation.sources import EvaluateRequest

LONG = (
    "john went to paris and mary went to london and the king went to berlin and george visited new york "
    "and smith works at google in paris"
)
LONG_TAGS = "B-PER O O B-LOC O B-PER O O B-LOC O O O O O B-LOC O B-PER O B-LOC I-LOC O B-PER O O B-ORG O B-LOC"
NER_ROWS = [
    ("john lives in berlin", "B-PER O O B-LOC"),
    ("mary works at apple", "B-PER O O B-ORG"),
    (LONG, LONG_TAGS),
    ("george smith visited london", "B-PER I-PER O B-LOC"),
    ("the queen of the north", "O B-PER O O B-LOC"),
]
CONTEXT = "john lives in paris . mary works at google in london . " * 3
QA_ROWS = [
    ("q1", "where does john live ?", CONTEXT, ["paris"]),
    ("q2", "who works at google ?", CONTEXT, ["mary", "mary works"]),
    ("q3", "where is google ?", CONTEXT, ["london"]),
    ("q4", "what is the city of john ?", "the city of john is paris .", ["paris", "the city"]),
]
TEXTS = ["good movie", "bad movie", "the film was ok", "i loved it", "terrible plot", "a nice day", "boring book"]


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def classification_rows(labels=("negative", "neutral", "positive")) -> list[dict]:
    return [{"sentence": text, "label": labels[i % len(labels)]} for i, text in enumerate(TEXTS * 3)]


def write_conll(path: Path, rows=NER_ROWS) -> Path:
    blocks = ["\n".join(f"{w} NN O {t}" for w, t in zip(s.split(), tags.split(), strict=True)) for s, tags in rows]
    path.write_text("-DOCSTART- -X- -X- O\n\n" + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def write_qa(path: Path, rows=QA_ROWS) -> Path:
    lines = []
    for qid, question, context, answers in rows:
        starts = [context.index(a) for a in answers]
        lines.append(
            {"id": qid, "question": question, "context": context, "answers": {"text": answers, "answer_start": starts}}
        )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def predictions(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]


def evaluate(model, data, out, **options):
    request = EvaluateRequest(model=str(model), data=str(data), precision="fp32", bootstrap=50, **options)
    return run_evaluation(request, output=out)


# ------------------------------------------------------------------------------------------ classification
def test_classification_numbers_equal_scikit_learn_on_the_written_predictions(tmp_path, tiny_classifier):
    from sklearn import metrics as sk

    data = write_csv(tmp_path / "dev.csv", classification_rows())
    outcome = evaluate(tiny_classifier, data, tmp_path / "out")
    report = load_report(tmp_path / "out")
    assert report.to_dict()["splits"] == outcome.report.to_dict()["splits"]
    split = report.splits["validation"]  # dev.csv is the validation split
    rows = predictions(tmp_path / "out")
    assert len(rows) == split.n_examples == 21
    assert [r["text"] for r in rows] == [r["sentence"] for r in classification_rows()]
    gold, pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
    assert len(set(pred)) > 1  # a model that predicts one class would make the check below weak
    m = split.metrics
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(gold, pred))
    for average in ("macro", "weighted"):
        p, r, f, _ = sk.precision_recall_fscore_support(gold, pred, average=average, zero_division=0)
        assert (m[f"{average}_precision"], m[f"{average}_recall"], m[f"{average}_f1"]) == pytest.approx((p, r, f))
    assert m["mcc"] == pytest.approx(sk.matthews_corrcoef(gold, pred))
    labels = ["negative", "neutral", "positive"]  # the model's id2label order, kept
    assert split.confusion_matrix.labels == labels
    assert split.confusion_matrix.matrix == sk.confusion_matrix(gold, pred, labels=labels).tolist()
    assert split.per_class["neutral"]["support"] == gold.count("neutral")
    assert split.truncation.n_examples == 21 and split.truncation.examples_truncated == 0
    assert split.confidence_intervals["accuracy"].contains(m["accuracy"])


def test_worst_errors_are_the_most_confident_wrong_predictions_with_their_text(tmp_path, tiny_classifier):
    data = write_csv(tmp_path / "dev.csv", classification_rows())
    report = evaluate(tiny_classifier, data, tmp_path / "out", worst_k=3).report
    rows = predictions(tmp_path / "out")
    wrong = sorted((r for r in rows if r["gold"] != r["pred"]), key=lambda r: -r["confidence"])
    worst = report.splits["validation"].worst_errors
    assert [e["id"] for e in worst] == [r["id"] for r in wrong[:3]]
    assert [e["text"] for e in worst] == [r["text"] for r in wrong[:3]]


def test_truncation_is_counted_per_example_and_token(tmp_path, tiny_classifier):
    long_text = " ".join(["good movie"] * 20)  # 40 words: more than 16 tokens
    rows = [{"text": long_text, "label": "positive"}, {"text": "bad movie", "label": "negative"}]
    data = write_csv(tmp_path / "test.csv", rows)
    split = evaluate(tiny_classifier, data, None, max_length=16).report.splits["test"]
    t = split.truncation
    assert (t.n_examples, t.examples_truncated, t.max_length) == (2, 1, 16)
    assert t.tokens_total == 42 + 4  # [CLS] 40 words [SEP] + [CLS] 2 words [SEP]
    assert t.tokens_truncated == 42 - 16


def test_data_labels_the_model_does_not_know_are_an_error_listing_both(tmp_path, tiny_classifier):
    data = write_csv(tmp_path / "dev.csv", classification_rows(("neg", "neu", "pos")))
    with pytest.raises(DataError) as caught:
        evaluate(tiny_classifier, data, None)
    message = str(caught.value)
    assert "['negative', 'neutral', 'positive']" in message and "['neg', 'neu', 'pos']" in message
    assert "--label-map" in message


def test_label_map_maps_data_labels_and_keeps_the_model_order(tmp_path, tiny_classifier):
    from sklearn.metrics import accuracy_score

    data = write_csv(tmp_path / "dev.csv", classification_rows(("pos", "neu", "neg")))
    mapping = {"neg": "negative", "neu": "neutral", "pos": "positive"}
    outcome = evaluate(tiny_classifier, data, tmp_path / "out", label_map=mapping)
    split = outcome.report.splits["validation"]
    assert split.confusion_matrix.labels == ["negative", "neutral", "positive"]
    rows = predictions(tmp_path / "out")
    assert [r["gold"] for r in rows] == [mapping[r["label"]] for r in classification_rows(("pos", "neu", "neg"))]
    assert split.metrics["accuracy"] == pytest.approx(
        accuracy_score([r["gold"] for r in rows], [r["pred"] for r in rows])
    )
    assert any("mapped" in note for note in outcome.notes)


# -------------------------------------------------------------------------------------------------------- NER
def test_ner_numbers_equal_seqeval_on_the_written_predictions(tmp_path, tiny_tagger):
    from seqeval import metrics as sq

    data = write_conll(tmp_path / "test.txt")
    report = evaluate(tiny_tagger, data, tmp_path / "out", max_length=16).report
    split = report.splits["test"]
    rows = predictions(tmp_path / "out")
    assert [r["tokens"] for r in rows] == [s.split() for s, _ in NER_ROWS]
    assert [r["gold"] for r in rows] == [t.split() for _, t in NER_ROWS]
    gold, pred = [r["gold"] for r in rows], [r["pred"] for r in rows]
    assert sq.f1_score(gold, pred) > 0  # some entities are found, so the comparison has substance
    m = split.metrics
    assert m["precision"] == pytest.approx(sq.precision_score(gold, pred))
    assert m["recall"] == pytest.approx(sq.recall_score(gold, pred))
    assert m["f1"] == pytest.approx(sq.f1_score(gold, pred))
    assert m["token_accuracy"] == pytest.approx(sq.accuracy_score(gold, pred))
    by_type = sq.classification_report(gold, pred, output_dict=True, zero_division=0)
    for kind, scores in split.per_type.items():
        if kind in by_type:
            assert scores["f1"] == pytest.approx(by_type[kind]["f1-score"]), kind
            assert scores["support"] == by_type[kind]["support"]
    t = split.truncation
    words = sum(len(s.split()) for s, _ in NER_ROWS)
    assert (t.n_examples, t.examples_truncated, t.words_total, t.words_truncated) == (5, 0, words, 0)
    assert t.examples_windowed == 1 and t.windows > 5 and (t.max_length, t.stride) == (16, 4)


@pytest.mark.parametrize("task", ["ner", "qa"])
def test_chunks_score_like_the_whole_split_and_like_the_task(tmp_path, tiny_tagger, tiny_qa, task):
    """Chunks of one example give the numbers of one chunk, and of the task's own scoring (the training loop's)."""
    from bertkit.evaluation.feeds import make_feed
    from bertkit.evaluation.pipeline import prepare_evaluation
    from bertkit.evaluation.runner import EvalSettings, evaluate_model, run_chunk

    model, data = (
        (tiny_tagger, write_conll(tmp_path / "test.txt"))
        if task == "ner"
        else (tiny_qa, write_qa(tmp_path / "test.jsonl"))
    )
    request = EvaluateRequest(
        model=str(model), data=str(data), max_length=16 if task == "ner" else 32, precision="fp32"
    )
    ready = prepare_evaluation(request, lambda message: None)
    model, tokenizer, split = ready.loaded.model, ready.loaded.tokenizer, ready.encoded["test"]
    assert len(split.features) > len(split.examples)  # some examples have several windows
    whole = evaluate_model(model, tokenizer, ready.task, {"test": split}, settings=EvalSettings(bootstrap=None))
    tiny_chunks = EvalSettings(bootstrap=None, chunk_examples=1, batch_size=2)
    chunked = evaluate_model(model, tokenizer, ready.task, {"test": split}, settings=tiny_chunks)
    assert chunked.splits["test"].metrics == whole.splits["test"].metrics
    assert chunked.splits["test"].truncation == whole.splits["test"].truncation
    results = run_chunk(model, ready.task, make_feed(ready.task), split.features, EvalSettings(), ready.loaded.device)
    by_task = ready.task.compute_metrics(results, split)
    m = whole.splits["test"].metrics
    names = ("precision", "recall", "f1", "token_accuracy") if task == "ner" else ("exact_match", "f1")
    assert [m[name] for name in names] == pytest.approx([by_task[name.replace("token_", "")] for name in names])


def test_part_of_speech_tags_are_scored_per_word_with_sentence_resampling(tmp_path):
    from sklearn import metrics as sk

    from tests.tiny import build_model

    tags = ["DT", "IN", "NN", "VB"]
    model = tmp_path / "pos-model"
    build_model(model, "BertForTokenClassification", num_labels=4, id2label=dict(enumerate(tags)))
    rows = [("the king lives in london", "DT NN VB IN NN"), ("mary works at google", "NN VB IN NN")] * 3
    report = evaluate(model, write_conll(tmp_path / "test.txt", rows), tmp_path / "out").report
    split = report.splits["test"]
    words = predictions(tmp_path / "out")
    gold = [t for r in words for t in r["gold"]]
    pred = [t for r in words for t in r["pred"]]
    assert split.n_examples == 6 and len(gold) == 27  # sentences are the examples; every word is scored
    assert split.metrics["accuracy"] == pytest.approx(sk.accuracy_score(gold, pred))
    assert split.metrics["macro_f1"] == pytest.approx(sk.f1_score(gold, pred, average="macro", zero_division=0))
    assert split.confusion_matrix.matrix == sk.confusion_matrix(gold, pred, labels=tags).tolist()
    assert split.confidence_intervals["accuracy"].contains(split.metrics["accuracy"])
    assert "report.html" in {p.name for p in (tmp_path / "out").iterdir()}


# --------------------------------------------------------------------------------------------------------- QA
def official_normalize(s: str) -> str:
    """The SQuAD v1.1 evaluation script's normalize_answer, verbatim in substance."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def official_f1(prediction: str, truth: str) -> float:
    p, t = official_normalize(prediction).split(), official_normalize(truth).split()
    common = Counter(p) & Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return 2 * precision * recall / (precision + recall)


def test_qa_numbers_equal_the_official_squad_formulas_on_the_written_predictions(tmp_path, tiny_qa):
    data = write_qa(tmp_path / "dev.jsonl")
    split = evaluate(tiny_qa, data, tmp_path / "out", max_length=32).report.splits["validation"]
    rows = predictions(tmp_path / "out")
    assert [r["id"] for r in rows] == ["q1", "q2", "q3", "q4"]
    em = [max(float(official_normalize(r["pred"]) == official_normalize(g)) for g in r["gold"]) for r in rows]
    f1 = [max(official_f1(r["pred"], g) for g in r["gold"]) for r in rows]
    assert split.metrics["exact_match"] == pytest.approx(sum(em) / 4)
    assert split.metrics["f1"] == pytest.approx(sum(f1) / 4)
    assert all(r["pred"] and r["pred"] in CONTEXT + QA_ROWS[3][2] for r in rows)  # spans of the context
    t = split.truncation
    assert t.examples_windowed == 3 and t.windows > 4  # the three long contexts need several windows of 32 tokens
    assert t.examples_truncated == 0 and t.max_length == 32


def test_long_questions_are_counted_as_truncated(tmp_path, tiny_qa):
    question = "where does john live and who works at google and where is the city of the king of the north ?"
    data = write_qa(tmp_path / "dev.jsonl", [("q", question, CONTEXT, ["paris"])])
    split = evaluate(tiny_qa, data, None, max_length=32).report.splits["validation"]
    assert split.details["max_question_length"] == 16  # half the window, as --max-length 32 leaves room for
    from transformers import AutoTokenizer

    tokens = len(AutoTokenizer.from_pretrained(tiny_qa).tokenize(question))
    t = split.truncation
    assert tokens > 16 and t.examples_truncated == 1 and t.tokens_truncated == tokens - 16


# -------------------------------------------------------------------------------------------------------- MLM
def test_masked_lm_perplexity_is_exp_of_the_mean_masked_loss(tmp_path, tiny_mlm):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TEXTS * 4) + "\n", encoding="utf-8")
    first = evaluate(tiny_mlm, corpus, None).report
    again = evaluate(tiny_mlm, corpus, None).report  # evaluation masks are seeded: the same every time
    split = first.splits["corpus"]
    assert first.task == "masked-lm" and split.n_examples == len(TEXTS) * 4
    assert split.metrics == again.splits["corpus"].metrics
    assert split.metrics["perplexity"] == pytest.approx(2.718281828459045 ** split.metrics["loss"])
    assert split.details["n_masked_tokens"] > 0


# ---------------------------------------------------------------------------------------------------- writers
def test_predictions_file_is_written_only_when_the_run_succeeds(tmp_path):
    from bertkit.evaluation.runner import PredictionWriter

    target = tmp_path / "predictions.jsonl"
    with pytest.raises(RuntimeError), PredictionWriter(target) as writer:
        writer.write("test", [{"id": 0}])
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with PredictionWriter(target) as writer:
        writer.write("test", [{"id": 0}, {"id": 1}])
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == [0, 1]
    assert list(tmp_path.iterdir()) == [target]
