"""Reference extractive-QA fine-tuning with transformers.Trainer, written the way examples/pytorch/question-answering/
run_qa.py (+ utils_qa.py) works: question + context tokenized with truncation="only_second", max_length 384,
stride 128, overflowing windows, offset mappings; the training target is the answer's token span or [CLS] when the
window does not hold it; evaluation post-processes start/end logits with n-best 20 and max_answer_length 30; the
score is the official SQuAD v1.1 exact match / F1 (its normalisation copied below).

run_qa.py pads every feature to max_length (``--pad-to-max-length`` is its default); ``--dynamic-padding`` uses
DataCollatorWithPadding instead, and ``--sampling group_by_length`` batches similar lengths (the best Trainer
settings on CPU). Run by bench/qa.py in its own process; prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import string
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def flatten_squad(path: Path) -> dict[str, list]:
    rows = {"id": [], "question": [], "context": [], "answers": []}
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows["id"].append(qa["id"])
                rows["question"].append(qa["question"])
                rows["context"].append(paragraph["context"])
                rows["answers"].append(
                    {
                        "text": [a["text"] for a in qa["answers"]],
                        "answer_start": [a["answer_start"] for a in qa["answers"]],
                    }
                )
    return rows


# --- official SQuAD v1.1 evaluation (evaluate-v1.1.py) ---
def normalize_answer(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(prediction: str, ground_truth: str) -> float:
    prediction_tokens, ground_truth_tokens = (
        normalize_answer(prediction).split(),
        normalize_answer(ground_truth).split(),
    )
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision, recall = num_same / len(prediction_tokens), num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def squad_v1(predictions: dict[str, str], gold: dict[str, list[str]]) -> dict[str, float]:
    em = sum(max(float(normalize_answer(predictions[q]) == normalize_answer(g)) for g in gold[q]) for q in gold)
    f1 = sum(max(f1_score(predictions[q], g) for g in gold[q]) for q in gold)
    return {"exact_match": 100.0 * em / len(gold), "f1": 100.0 * f1 / len(gold)}


def postprocess_qa_predictions(examples, features, start_logits, end_logits, n_best_size=20, max_answer_length=30):
    """utils_qa.postprocess_qa_predictions (v1: no null answer)."""
    import numpy as np

    feature_index_of = {k: i for i, k in enumerate(examples["id"])}
    features_per_example = collections.defaultdict(list)
    for i, example_id in enumerate(features["example_id"]):
        features_per_example[feature_index_of[example_id]].append(i)
    predictions = {}
    for example_index, (example_id, context) in enumerate(zip(examples["id"], examples["context"], strict=True)):
        prelim = []
        for feature_index in features_per_example[example_index]:
            starts, ends = start_logits[feature_index], end_logits[feature_index]
            offsets = features[feature_index]["offset_mapping"]
            start_indexes = np.argsort(starts)[-1 : -n_best_size - 1 : -1].tolist()
            end_indexes = np.argsort(ends)[-1 : -n_best_size - 1 : -1].tolist()
            for s in start_indexes:
                for e in end_indexes:
                    if s >= len(offsets) or e >= len(offsets) or offsets[s] is None or offsets[e] is None:
                        continue
                    if len(offsets[s]) < 2 or len(offsets[e]) < 2:
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    prelim.append((starts[s] + ends[e], offsets[s][0], offsets[e][1]))
        best = max(prelim, default=None)
        predictions[example_id] = context[best[1] : best[2]] if best else ""
    return predictions


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-file", type=Path, required=True)
    parser.add_argument("--eval-file", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--max-steps", type=int, default=-1, help="-1: one full epoch, then scores")
    parser.add_argument("--sampling", choices=["random", "group_by_length"], default="random")
    parser.add_argument("--dynamic-padding", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--warmup-steps", type=int, default=5, help="steps left out of the throughput")
    parser.add_argument("--attention-dropout", type=float, default=None)
    parser.add_argument("--attn-implementation", default=None, help="e.g. eager (default: transformers' choice, sdpa)")
    args = parser.parse_args(argv)

    import datasets
    from transformers import (
        AutoConfig,
        AutoModelForQuestionAnswering,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    max_length, doc_stride = 384, 128
    padding = False if args.dynamic_padding else "max_length"
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    train_examples = datasets.Dataset.from_dict(flatten_squad(args.train_file))
    eval_examples = datasets.Dataset.from_dict(flatten_squad(args.eval_file))

    def prepare_train_features(examples):
        examples["question"] = [q.lstrip() for q in examples["question"]]
        tokenized = tokenizer(
            examples["question"],
            examples["context"],
            truncation="only_second",
            max_length=max_length,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=padding,
        )
        sample_mapping = tokenized.pop("overflow_to_sample_mapping")
        offset_mapping = tokenized.pop("offset_mapping")
        tokenized["start_positions"], tokenized["end_positions"] = [], []
        for i, offsets in enumerate(offset_mapping):
            input_ids = tokenized["input_ids"][i]
            cls_index = input_ids.index(tokenizer.cls_token_id)
            sequence_ids = tokenized.sequence_ids(i)
            answers = examples["answers"][sample_mapping[i]]
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            token_start = 0
            while sequence_ids[token_start] != 1:
                token_start += 1
            token_end = len(input_ids) - 1
            while sequence_ids[token_end] != 1:
                token_end -= 1
            if not (offsets[token_start][0] <= start_char and offsets[token_end][1] >= end_char):
                tokenized["start_positions"].append(cls_index)
                tokenized["end_positions"].append(cls_index)
                continue
            while token_start < len(offsets) and offsets[token_start][0] <= start_char:
                token_start += 1
            tokenized["start_positions"].append(token_start - 1)
            while offsets[token_end][1] >= end_char:
                token_end -= 1
            tokenized["end_positions"].append(token_end + 1)
        return tokenized

    def prepare_validation_features(examples):
        examples["question"] = [q.lstrip() for q in examples["question"]]
        tokenized = tokenizer(
            examples["question"],
            examples["context"],
            truncation="only_second",
            max_length=max_length,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=padding,
        )
        sample_mapping = tokenized.pop("overflow_to_sample_mapping")
        tokenized["example_id"] = []
        for i in range(len(tokenized["input_ids"])):
            sequence_ids = tokenized.sequence_ids(i)
            tokenized["example_id"].append(examples["id"][sample_mapping[i]])
            tokenized["offset_mapping"][i] = [
                o if sequence_ids[k] == 1 else None for k, o in enumerate(tokenized["offset_mapping"][i])
            ]
        return tokenized

    train_features = train_examples.map(
        prepare_train_features, batched=True, remove_columns=train_examples.column_names
    )
    eval_features = eval_examples.map(
        prepare_validation_features, batched=True, remove_columns=eval_examples.column_names
    )
    set_seed(args.seed)
    overrides = {} if args.attention_dropout is None else {"attention_probs_dropout_prob": args.attention_dropout}
    config = AutoConfig.from_pretrained(args.model, **overrides)
    attention = {} if args.attn_implementation is None else {"attn_implementation": args.attn_implementation}
    model = AutoModelForQuestionAnswering.from_pretrained(args.model, config=config, **attention)

    class StepTimes(TrainerCallback):
        def __init__(self) -> None:
            self.at: dict[int, float] = {}

        def on_step_end(self, a, state, control, **kwargs):
            self.at[state.global_step] = time.perf_counter()

    timer = StepTimes()
    training_args = TrainingArguments(
        output_dir=str(args.output),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=args.learning_rate,
        num_train_epochs=1,
        max_steps=args.max_steps,
        seed=args.seed,
        bf16=True,
        use_cpu=True,
        train_sampling_strategy=args.sampling,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    collator = DataCollatorWithPadding(tokenizer) if args.dynamic_padding else default_data_collator
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_features,
        processing_class=tokenizer,
        data_collator=collator,
        callbacks=[timer],
    )
    started = time.perf_counter()
    trainer.train()
    train_wall = time.perf_counter() - started
    last, first = max(timer.at), args.warmup_steps
    features = min(last * args.batch_size, len(train_features)) - first * args.batch_size
    name = "Trainer (run_qa style: " + ("dynamic padding" if args.dynamic_padding else "padded to 384")
    name += f", {args.sampling}" + (
        "" if args.attention_dropout is None else f", attn dropout {args.attention_dropout}"
    )
    name += "" if args.attn_implementation is None else f", {args.attn_implementation} attention"
    result = {
        "name": name + ")",
        "steps": last,
        "train_features": len(train_features),
        "train_features_per_s": features / (timer.at[last] - timer.at[first]),
        "train_wall_s": train_wall,
    }
    if args.max_steps < 0:
        predict_set = eval_features.remove_columns(["example_id", "offset_mapping"])
        start_logits, end_logits = trainer.predict(predict_set).predictions
        predictions = postprocess_qa_predictions(eval_examples, eval_features, start_logits, end_logits)
        gold = {q: a["text"] for q, a in zip(eval_examples["id"], eval_examples["answers"], strict=True)}
        result["eval"] = squad_v1(predictions, gold)
        result["eval_questions"] = len(gold)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
