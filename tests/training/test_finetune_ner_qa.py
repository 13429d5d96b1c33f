"""`bertkit finetune` end to end for NER and extractive QA: data files, recipe, training, the saved folder loaded by
transformers and by `bertkit ner` / `bertkit qa` (which must agree with the evaluation done while training), and
bad input as clear errors."""

from __future__ import annotations

import json

import pytest

from bertkit.evaluation.metrics.squad import squad_metrics
from bertkit.tasks.entities import tags_to_spans
from bertkit.tasks.ner_scoring import entity_scores
from tests.cli.helpers import assert_clean_error, json_lines, run_cli

NER_TRAIN = [
    ("george smith went to paris", "B-PER I-PER O O B-LOC"),
    ("mary lives in london", "B-PER O O B-LOC"),
    ("john works at google", "B-PER O O B-ORG"),
    ("the king visited berlin and new york", "O O O B-LOC O B-LOC I-LOC"),
    ("smith works at apple in paris", "B-PER O O B-ORG O B-LOC"),
    ("mary smith loved london", "B-PER I-PER O B-LOC"),
]
LONG = (
    "john went to paris and mary went to london and the king went to berlin and george visited new york "
    "and smith works at google in paris"
)
LONG_TAGS = "B-PER O O B-LOC O B-PER O O B-LOC O O O O O B-LOC O B-PER O B-LOC I-LOC O B-PER O O B-ORG O B-LOC"
NER_DEV = [("john lives in berlin", "B-PER O O B-LOC"), ("mary works at apple", "B-PER O O B-ORG"), (LONG, LONG_TAGS)]


def conll(sentences) -> str:
    blocks = []
    for words, tags in sentences:
        blocks.append("\n".join(f"{w} NN O {t}" for w, t in zip(words.split(), tags.split(), strict=True)))
    return "-DOCSTART- -X- -X- O\n\n" + "\n\n".join(blocks) + "\n"


def write_recipe(path, model, task: str, data: dict, out, **training) -> None:
    settings = {"epochs": 8, "batch_size": 4, "learning_rate": 3e-3, "precision": "fp32", "logging_steps": 5}
    settings.update(training)
    recipe = {
        "model": {"name": str(model)},
        "data": data,
        "task": json.loads(task),
        "training": settings,
        "evaluation": {"strategy": "epoch"},
        "output": {"dir": str(out)},
    }
    path.write_text(json.dumps(recipe))  # JSON is YAML


@pytest.fixture
def ner_files(tmp_path):
    (tmp_path / "train.txt").write_text(conll(NER_TRAIN * 3))
    (tmp_path / "dev.txt").write_text(conll(NER_DEV))
    return tmp_path


NER_TASK = '{"type": "token-classification", "max_length": 16, "stride": 4}'


def test_ner_recipe_trains_and_the_folder_serves_transformers_and_bertkit_ner(tiny_encoder, ner_files):
    from transformers import AutoModelForTokenClassification, pipeline

    out = ner_files / "ner-model"
    data = {"train_file": str(ner_files / "train.txt"), "validation_file": str(ner_files / "dev.txt")}
    write_recipe(ner_files / "ner.yaml", tiny_encoder, NER_TASK, data, out, epochs=30, learning_rate=1e-2)
    result = run_cli("finetune", ner_files / "ner.yaml", "--log-format", "plain")
    assert result.exit_code == 0, result.stderr
    assert "split into overlapping windows" in result.stderr  # the long dev sentence, announced
    config = json.loads((out / "config.json").read_text())
    assert config["bertkit"]["tag_scheme"] == "IOB2"
    assert sorted(config["label2id"]) == ["B-LOC", "B-ORG", "B-PER", "I-LOC", "I-PER", "O"]
    metrics = json.loads((out / "metrics.json").read_text())["splits"]["validation"]
    assert {"precision", "recall", "f1", "accuracy", "f1_PER"} <= set(metrics)
    assert metrics["f1"] > 0.2  # it learnt something, so the comparisons below mean something
    report = json.loads((out / "report.json").read_text())["splits"]["validation"]["metrics"]
    assert report["f1"] == pytest.approx(metrics["f1"])  # the evaluation library agrees with the training scorer

    model = AutoModelForTokenClassification.from_pretrained(out)
    assert model.config.id2label[config["label2id"]["B-PER"]] == "B-PER"
    tagger = pipeline("token-classification", model=str(out), aggregation_strategy="first")
    assert all(e["entity_group"] in ("PER", "LOC", "ORG") for e in tagger("mary lives in paris"))

    inputs = ner_files / "dev.jsonl"
    inputs.write_text("".join(json.dumps({"text": words}) + "\n" for words, _ in NER_DEV))
    result = run_cli(
        "ner", "--model", out, "--input", inputs, "--json", "--max-length", 16, "--stride", 4, "--precision", "fp32"
    )
    assert result.exit_code == 0, result.stderr
    rows = json_lines(result.stdout)
    predicted = [entities_to_tags(words, row["entities"]) for (words, _), row in zip(NER_DEV, rows, strict=True)]
    gold = [tags.split() for _, tags in NER_DEV]
    scores = entity_scores(gold, predicted, scheme="IOB2")
    # Inference over the same windows gives the very entity scores the training-time evaluation reported. (Not
    # word accuracy: `bertkit ner` outputs entities, and a word tagged I-X after O reads back as B-X from them.)
    for name in ("precision", "recall", "f1"):
        assert scores[name] == pytest.approx(metrics[name]), name


def test_ner_speedups_train_the_same_weights_as_the_stock_forward(tiny_encoder, ner_files):
    # Without dropout the labeled-positions last layer (and the other shortcuts) must train the stock weights.
    from safetensors.torch import load_file

    data = {"train_file": str(ner_files / "train.txt"), "validation_file": str(ner_files / "dev.txt")}
    found = {}
    for speedups in (True, False):
        out = ner_files / f"speedups-{speedups}"
        write_recipe(ner_files / "ner.yaml", tiny_encoder, NER_TASK, data, out, epochs=2, speedups=speedups)
        args = ["--set", "model.hidden_dropout=0", "--set", "model.attention_dropout=0", "--log-format", "plain"]
        args += ["--set", "training.length_chunks=4"]  # the same batches with and without (default: 2 and 1)
        result = run_cli("finetune", ner_files / "ner.yaml", *args)
        assert result.exit_code == 0, result.stderr
        assert ("labeled positions" in result.stderr) is speedups
        found[speedups] = load_file(out / "model.safetensors")
    for key, value in found[False].items():
        if not key.endswith("attention.self.key.bias"):  # true gradient 0: see tests/training/test_engine.py
            assert (found[True][key] - value).abs().max() < 2e-5, key


def entities_to_tags(text: str, entities: list[dict]) -> list[str]:
    """`bertkit ner` entities (character offsets) -> IOB2 tags of the text's space-separated words."""
    starts, position = [], 0
    for word in text.split():
        starts.append(position)
        position += len(word) + 1
    tags = ["O"] * len(starts)
    for entity in entities:
        words = [i for i, s in enumerate(starts) if entity["start"] <= s < entity["end"]]
        for rank, i in enumerate(words):
            tags[i] = f"{'B' if rank == 0 else 'I'}-{entity['type']}"
    return tags


FILLER = "the king lives in paris . " * 6
QA_ITEMS = [
    ("who works at google ?", FILLER + "mary works at google in london .", "mary"),
    ("where is google ?", "mary works at google in london . " + FILLER, "london"),
    ("who went to berlin ?", "john went to berlin . " + FILLER, "john"),
    ("where did john go ?", FILLER + "john went to berlin .", "berlin"),
]


def squad_json(items) -> str:
    paragraphs = [
        {"context": c, "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": c.index(a)}]}]}
        for i, (q, c, a) in enumerate(items)
    ]
    return json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]})


QA_TASK = '{"type": "question-answering", "max_length": 32, "doc_stride": 4, "max_question_length": 10}'


def test_qa_recipe_trains_and_the_folder_serves_transformers_and_bertkit_qa(tiny_encoder, tmp_path):
    from transformers import AutoModelForQuestionAnswering

    (tmp_path / "train.json").write_text(squad_json(QA_ITEMS * 3))
    (tmp_path / "dev.json").write_text(squad_json(QA_ITEMS))
    out = tmp_path / "qa-model"
    data = {"train_file": str(tmp_path / "train.json"), "validation_file": str(tmp_path / "dev.json")}
    write_recipe(tmp_path / "qa.yaml", tiny_encoder, QA_TASK, data, out, epochs=4)
    result = run_cli("finetune", tmp_path / "qa.yaml", "--log-format", "plain")
    assert result.exit_code == 0, result.stderr
    assert "contexts need more than one window" in result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["bertkit"]["doc_stride"] == 4
    assert config["attention_probs_dropout_prob"] == 0.0  # the CPU default, announced:
    assert "attention_probs_dropout_prob set to 0.0 (default for question answering on CPU" in result.stderr
    metrics = json.loads((out / "metrics.json").read_text())["splits"]["validation"]
    assert set(metrics) == {"exact_match", "f1", "loss"}
    assert metrics["f1"] > 0.1
    report = json.loads((out / "report.json").read_text())["splits"]["validation"]["metrics"]
    assert (report["exact_match"], report["f1"]) == pytest.approx((metrics["exact_match"], metrics["f1"]))
    assert AutoModelForQuestionAnswering.from_pretrained(out).config.bertkit["task"] == "question-answering"

    inputs = tmp_path / "dev.jsonl"
    inputs.write_text("".join(json.dumps({"question": q, "context": c}) + "\n" for q, c, _ in QA_ITEMS))
    result = run_cli(
        "qa", "--model", out, "--input", inputs, "--json", "--max-length", 32, "--doc-stride", 4, "--precision", "fp32"
    )
    assert result.exit_code == 0, result.stderr
    answers = [row["answers"][0]["text"] if row["answers"] else "" for row in json_lines(result.stdout)]
    scores = squad_metrics(answers, [[a] for _, _, a in QA_ITEMS])
    assert scores == pytest.approx({"exact_match": metrics["exact_match"], "f1": metrics["f1"]})


def ner_inference_scores(out, inputs):
    result = run_cli(
        "ner", "--model", out, "--input", inputs, "--json", "--max-length", 16, "--stride", 4, "--precision", "fp32"
    )
    assert result.exit_code == 0, result.stderr
    rows = json_lines(result.stdout)
    predicted = [entities_to_tags(words, row["entities"]) for (words, _), row in zip(NER_DEV, rows, strict=True)]
    return entity_scores([tags.split() for _, tags in NER_DEV], predicted, scheme="IOB2")


def qa_inference_scores(out, inputs):
    result = run_cli(
        "qa", "--model", out, "--input", inputs, "--json", "--max-length", 32, "--doc-stride", 4, "--precision", "fp32"
    )
    assert result.exit_code == 0, result.stderr
    answers = [row["answers"][0]["text"] if row["answers"] else "" for row in json_lines(result.stdout)]
    return squad_metrics(answers, [[a] for _, _, a in QA_ITEMS])


@pytest.mark.parametrize("task", ["ner", "qa"])
def test_two_processes_evaluate_windows_like_one(task, tiny_encoder, tmp_path):
    """Windows of one example land on both processes; the gathered evaluation must equal a one-process run."""
    import os
    import subprocess
    import sys

    if task == "ner":
        (tmp_path / "train.txt").write_text(conll(NER_TRAIN * 3))
        (tmp_path / "dev.txt").write_text(conll(NER_DEV))
        files, spec, settings = ("train.txt", "dev.txt"), NER_TASK, {"epochs": 10, "learning_rate": 1e-2}
        inputs = "".join(json.dumps({"text": words}) + "\n" for words, _ in NER_DEV)
    else:
        (tmp_path / "train.json").write_text(squad_json(QA_ITEMS * 3))
        (tmp_path / "dev.json").write_text(squad_json(QA_ITEMS))
        files, spec, settings = ("train.json", "dev.json"), QA_TASK, {"epochs": 4}
        inputs = "".join(json.dumps({"question": q, "context": c}) + "\n" for q, c, _ in QA_ITEMS)
    (tmp_path / "dev.jsonl").write_text(inputs)
    data = {"train_file": str(tmp_path / files[0]), "validation_file": str(tmp_path / files[1])}
    out = tmp_path / "model"
    write_recipe(tmp_path / "recipe.yaml", tiny_encoder, spec, data, out, eval_batch_size=2, **settings)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "bertkit", "finetune", str(tmp_path / "recipe.yaml"), "--num-processes", "2"]
    done = subprocess.run([*command, "--log-format", "json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((out / "bertkit_run.json").read_text())["num_processes"] == 2
    metrics = json.loads((out / "metrics.json").read_text())["splits"]["validation"]
    scores = (ner_inference_scores if task == "ner" else qa_inference_scores)(out, tmp_path / "dev.jsonl")
    # NER: entity F1 only. Tag accuracy from entities re-tagged as IOB2 differs where the model starts an entity
    # with I- (the entity is the same, its first tag is written B-).
    keys = ("f1",) if task == "ner" else ("f1", "exact_match")
    assert {k: scores[k] for k in keys} == pytest.approx({k: metrics[k] for k in keys})


def test_malformed_conll_line_is_a_clear_error(tiny_encoder, ner_files):
    bad = conll(NER_TRAIN).replace("mary NN O B-PER", "mary B-PER")
    (ner_files / "train.txt").write_text(bad)
    line = bad.splitlines().index("mary B-PER") + 1
    data = {"train_file": str(ner_files / "train.txt"), "validation_file": str(ner_files / "dev.txt")}
    write_recipe(ner_files / "ner.yaml", tiny_encoder, NER_TASK, data, ner_files / "out")
    result = run_cli("finetune", ner_files / "ner.yaml")
    assert_clean_error(result, f"{ner_files / 'train.txt'}:{line}: expected 4 columns", "found 2")


def test_a_tag_the_training_data_never_has_is_a_clear_error(tiny_encoder, ner_files):
    dev = conll([*NER_DEV[:1], ("mary works at apple", "B-PER O O B-COMPANY")])
    (ner_files / "dev.txt").write_text(dev)
    line = dev.splitlines().index("mary NN O B-PER") + 1
    data = {"train_file": str(ner_files / "train.txt"), "validation_file": str(ner_files / "dev.txt")}
    write_recipe(ner_files / "ner.yaml", tiny_encoder, NER_TASK, data, ner_files / "out")
    result = run_cli("finetune", ner_files / "ner.yaml")
    assert_clean_error(result, f"{ner_files / 'dev.txt'}:{line}: tag 'B-COMPANY' does not occur in the training data")
    assert not (ner_files / "out").exists()


def test_a_qa_answer_missing_from_its_context_is_a_clear_error(tiny_encoder, tmp_path):
    (tmp_path / "train.json").write_text(squad_json(QA_ITEMS))
    rows = [{"question": "who is it ?", "context": "mary lives in paris .", "answer_text": "john", "answer_start": 0}]
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = {"train_file": str(tmp_path / "train.json"), "validation_file": str(tmp_path / "dev.jsonl")}
    write_recipe(tmp_path / "qa.yaml", tiny_encoder, QA_TASK, data, tmp_path / "out")
    result = run_cli("finetune", tmp_path / "qa.yaml")
    assert_clean_error(result, "none of the 1 answers is found at its answer_start", f"{tmp_path / 'dev.jsonl'}:1")


def test_gold_tags_in_the_test_recipe_decode_to_entities():
    assert [s.type for s in tags_to_spans(LONG_TAGS.split())] == [
        "PER", "LOC", "PER", "LOC", "LOC", "PER", "LOC", "PER", "ORG", "LOC"
    ]  # fmt: skip


@pytest.mark.parametrize(("recipe_value", "expected"), [(None, 0.0), (0.2, 0.2)])
def test_qa_attention_dropout_default_on_cpu_yields_to_the_recipe(tiny_encoder, tmp_path, recipe_value, expected):
    from bertkit.modeling.hub import resolve_model_source
    from bertkit.recipes.schema import Recipe
    from bertkit.tasks.registry import build_task
    from bertkit.training.setup import load_config

    recipe = Recipe.model_validate(
        {
            "model": {"name": str(tiny_encoder), "attention_dropout": recipe_value},
            "data": {"train_file": "x.json"},
            "task": json.loads(QA_TASK),
            "output": {"dir": str(tmp_path / "out")},
        }
    )
    config, notes = load_config(recipe, resolve_model_source(str(tiny_encoder)), build_task(recipe.task))
    assert config.attention_probs_dropout_prob == expected
    assert config.hidden_dropout_prob == 0.1  # untouched
    assert any(f"set to {expected}" in note for note in notes)
