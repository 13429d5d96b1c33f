"""BERT pre-training from scratch: sentence-pair features with NSP labels, a WordPiece tokenizer trained on the
corpus, a BertConfig from the recipe's architecture, MLM + NSP training through the engine, and a result that
`bertkit fill-mask` loads (the MLM head of a BertForPreTraining checkpoint, nothing missing)."""

import json
from types import SimpleNamespace

import pytest

from bertkit.errors import DataError, ModelLoadError
from bertkit.recipes.schema import PretrainingTask as PretrainingSpec
from bertkit.recipes.schema import Recipe
from bertkit.tasks.masking import IGNORE_INDEX
from bertkit.tasks.pretraining import PretrainingTask
from tests.cli.helpers import json_lines, run_cli
from tests.tasks.lm_corpora import sentences, write_recipe, write_text_corpus

ARCHITECTURE = {
    "num_hidden_layers": 2,
    "hidden_size": 32,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}


def document_splits(documents, per_document=4):
    import datasets

    texts, ids = [], []
    for d in range(documents):
        for sentence in sentences(per_document, seed=d):
            texts.append(sentence)
            ids.append(d)
    return SimpleNamespace(
        train=datasets.Dataset.from_dict({"text": texts, "document": ids}), validation=None, test=None, sources={}
    )


def test_pairs_become_bert_inputs_with_segments_and_nsp_labels(tokenizer):
    task = PretrainingTask(PretrainingSpec(type="pretraining", max_length=32))
    task.set_seed(1)
    encoded = task.prepare(document_splits(60), tokenizer)
    features = encoded["train"].features
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    for ids, types in zip(features["input_ids"], features["token_type_ids"], strict=True):
        assert len(ids) <= 32 and ids[0] == cls_id and ids[-1] == sep_id and ids.count(sep_id) == 2
        middle = ids.index(sep_id)
        assert types == [0] * (middle + 1) + [1] * (len(ids) - middle - 1)
    distribution = task.label_distribution(encoded["train"])
    assert any(f"{len(features)} sentence pairs from 60 documents" in note for note in task.prepare_notes)
    assert sum(distribution.values()) == len(features) and min(distribution.values()) > 0.3 * len(features)
    rows = [
        {k: features[k][i] for k in ("input_ids", "token_type_ids", "next_sentence_label", "example_id")}
        for i in range(8)
    ]
    batch = task.collate(rows)
    assert set(task.forward_inputs(batch)) == {
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "labels",
        "next_sentence_label",
    }
    assert batch["next_sentence_label"].tolist() == features["next_sentence_label"][:8]
    assert ((batch["labels"] != IGNORE_INDEX).sum(dim=1) >= 1).all()
    again = PretrainingTask(PretrainingSpec(type="pretraining", max_length=32))
    again.set_seed(1)
    assert again.prepare(document_splits(60), tokenizer)["train"].features["input_ids"] == features["input_ids"]


def test_without_nsp_the_corpus_is_packed_for_mlm_alone(tokenizer):
    task = PretrainingTask(PretrainingSpec(type="pretraining", max_length=32, next_sentence_prediction=False))
    assert task.auto_model_class == "AutoModelForMaskedLM" and "next_sentence_label" not in task.model_inputs
    features = task.prepare(document_splits(20), tokenizer)["train"].features
    assert all(n == 32 for n in features["length"][:-1])
    assert "next_sentence_label" not in features.column_names


def test_nsp_on_a_single_document_is_a_clear_error(tokenizer):
    task = PretrainingTask(PretrainingSpec(type="pretraining", max_length=32))
    with pytest.raises(DataError, match="at least 2 documents, but the train split has 1"):
        task.prepare(document_splits(1), tokenizer)


def test_models_without_an_nsp_head_are_refused(tokenizer):
    from transformers import DistilBertConfig

    task = PretrainingTask(PretrainingSpec(type="pretraining", max_length=32))
    task.configure_masking(tokenizer)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=1, n_heads=2, hidden_dim=64)
    with pytest.raises(ModelLoadError, match="no next-sentence-prediction head") as err:
        task.build_scratch_model(config)
    assert "next_sentence_prediction: false" in err.value.hint


def scratch_recipe(corpus, out, **task):
    return {
        "model": {"name": "minilm", "from_scratch": True, "architecture": ARCHITECTURE},
        "data": {"train_file": str(corpus)},
        "task": {
            "type": "pretraining",
            "max_length": 64,
            "tokenizer": {"vocab_size": 400, "min_frequency": 1},
            **task,
        },
        "training": {"epochs": 3, "batch_size": 8, "learning_rate": 2e-3, "logging_steps": 4},
        "evaluation": {"bootstrap_samples": 0},
        "output": {"dir": str(out)},
    }


def test_scratch_start_trains_a_tokenizer_and_sizes_the_config(tmp_path):
    from bertkit.data import load_splits
    from bertkit.modeling.scratch import scratch_start

    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=20)
    recipe = Recipe.model_validate(scratch_recipe(corpus, tmp_path / "out"))
    start = scratch_start(recipe, load_splits(recipe))
    assert start.config.model_type == "bert"
    assert (start.config.num_hidden_layers, start.config.hidden_size, start.config.intermediate_size) == (2, 32, 64)
    assert start.config.vocab_size == len(start.tokenizer) <= 400
    assert start.config.max_position_embeddings == 64 and start.config.type_vocab_size == 2
    assert start.tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert any("trained a WordPiece tokenizer" in note for note in start.notes)


def test_a_runs_trained_tokenizer_is_kept_and_reused(tmp_path):
    from bertkit.data import load_splits
    from bertkit.modeling.scratch import scratch_start

    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=20)
    recipe = Recipe.model_validate(scratch_recipe(corpus, tmp_path / "out"))
    splits = load_splits(recipe)
    first = scratch_start(recipe, splits, tokenizer_dir=tmp_path / "work" / "tokenizer")
    assert (tmp_path / "work" / "tokenizer" / "tokenizer.json").is_file()
    again = scratch_start(recipe, splits, tokenizer_dir=tmp_path / "work" / "tokenizer")
    assert again.tokenizer.get_vocab() == first.tokenizer.get_vocab()
    assert any("reused the tokenizer" in note for note in again.notes)


def test_pretraining_from_scratch_trains_mlm_and_nsp_and_loads_in_fill_mask(tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=40)
    recipe = scratch_recipe(corpus, tmp_path / "out")
    result = run_cli("finetune", write_recipe(tmp_path / "pre.yaml", recipe), "--log-format", "plain")
    assert result.exit_code == 0, result.stderr
    assert "trained a WordPiece tokenizer" in result.stderr and "new BERT from scratch: 2 layers" in result.stderr
    out = tmp_path / "out"
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["BertForPreTraining"]
    metrics = json.loads((out / "metrics.json").read_text())
    validation = metrics["splits"]["validation"]
    assert {"perplexity", "accuracy", "nsp_accuracy", "loss"} <= set(validation)
    history = [h["metrics"]["perplexity"] for h in metrics["eval_history"]]
    assert history[-1] < history[0]
    data = json.loads((out / "data.json").read_text())
    assert set(data["label_distribution"]["train"]) == {"is_next", "random_next"}
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert config["vocab_size"] == len(tokenizer) <= 400 and tokenizer.mask_token == "[MASK]"
    _, info = AutoModelForMaskedLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["mismatched_keys"]
    assert set(info["unexpected_keys"]) <= {
        "bert.pooler.dense.weight",
        "bert.pooler.dense.bias",
        "cls.seq_relationship.weight",
        "cls.seq_relationship.bias",
    }
    filled = run_cli("fill-mask", "-m", out, "--json", "-k", "2", "the good [MASK] .")
    assert filled.exit_code == 0, filled.stderr
    assert len(json_lines(filled.stdout)[0]["masks"][0]["predictions"]) == 2


def test_a_resumed_from_scratch_run_reuses_its_trained_tokenizer(tmp_path):
    from transformers import AutoTokenizer

    from bertkit.training.api import finetune
    from bertkit.training.events import Note, StepLogged

    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=40)
    recipe = scratch_recipe(corpus, tmp_path / "out")
    recipe["training"].update({"checkpoint_steps": 4, "logging_steps": 1})
    recipe["evaluation"]["strategy"] = "no"
    recipe = Recipe.model_validate(recipe)

    def crash_after_a_checkpoint(event):
        if isinstance(event, StepLogged) and event.step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune(recipe, callbacks=[crash_after_a_checkpoint])
    kept = tmp_path / "out.partial" / "tokenizer"
    vocab = AutoTokenizer.from_pretrained(kept).get_vocab()
    notes = []
    finetune(recipe, resume=True, callbacks=[lambda e: notes.append(e.message) if isinstance(e, Note) else None])
    assert any("reused the tokenizer trained for this run" in note for note in notes)
    assert AutoTokenizer.from_pretrained(tmp_path / "out").get_vocab() == vocab


def test_speedups_train_the_same_weights_as_bert_for_pretraining_s_own_loss(tiny_mlm, tmp_path):
    # MLM + NSP with the masked-positions head and padding-free layers, without dropout: the stock weights. (A
    # saved model, not a scratch start: tokenizers' WordPiece trainer breaks count ties differently run to run.)
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoTokenizer, BertForPreTraining

    from bertkit.training.api import finetune

    torch.manual_seed(0)
    BertForPreTraining(AutoConfig.from_pretrained(tiny_mlm)).save_pretrained(tmp_path / "start")
    AutoTokenizer.from_pretrained(tiny_mlm).save_pretrained(tmp_path / "start")
    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=12)
    found = {}
    for speedups in (True, False):
        settings = scratch_recipe(corpus, tmp_path / str(speedups))
        settings["model"] = {"name": str(tmp_path / "start"), "hidden_dropout": 0.0, "attention_dropout": 0.0}
        del settings["task"]["tokenizer"]
        settings["training"].update(epochs=2, precision="fp32", speedups=speedups)
        finetune(Recipe.model_validate(settings))
        found[speedups] = load_file(tmp_path / str(speedups) / "model.safetensors")
    assert "cls.seq_relationship.weight" in found[True]  # the NSP head trained too
    for key, value in found[False].items():
        if not key.endswith("attention.self.key.bias"):  # true gradient 0: see tests/training/test_engine.py
            assert (found[True][key] - value).abs().max() < 2e-5, key
