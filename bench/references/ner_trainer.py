"""Reference NER fine-tuning with transformers.Trainer, written the way examples/pytorch/token-classification/
run_ner.py works: words tokenized with ``is_split_into_words``, the label on the first subword of each word (-100
elsewhere), DataCollatorForTokenClassification (dynamic padding), seqeval on the first-subword predictions.

Run by bench/ner.py in its own process; prints one JSON object (throughput and scores) as its last line.

    python bench/references/ner_trainer.py --data ../shared/data/conll2003 --max-steps 200 --sampling random
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def read_conll(path: Path) -> dict[str, list[list[str]]]:
    """``tokens``/``ner_tags`` of a CoNLL-2003 file (last column = NER tag; -DOCSTART- lines dropped)."""
    tokens, tags, words, labels = [], [], [], []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if words:
                tokens.append(words)
                tags.append(labels)
                words, labels = [], []
            continue
        words.append(fields[0])
        labels.append(fields[-1])
    return {"tokens": tokens, "ner_tags": tags}


def timing_callback():
    from transformers import TrainerCallback

    class StepTimes(TrainerCallback):
        """Wall-clock time at the end of every optimizer step (training only: no evaluation runs in between)."""

        def __init__(self) -> None:
            self.at: dict[int, float] = {}

        def on_step_end(self, args, state, control, **kwargs):
            self.at[state.global_step] = time.perf_counter()

    return StepTimes()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", required=True, help="model folder (the packaged MiniLM)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--max-steps", type=int, default=-1, help="-1: one full epoch, then test scores")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--sampling", choices=["random", "group_by_length"], default="random")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--warmup-steps", type=int, default=5, help="steps left out of the throughput")
    parser.add_argument("--attention-dropout", type=float, default=None)
    parser.add_argument("--attn-implementation", default=None, help="e.g. eager (default: transformers' choice, sdpa)")
    parser.add_argument("--torch-compile", action="store_true", help="TrainingArguments(torch_compile=True)")
    args = parser.parse_args(argv)

    import datasets
    import numpy as np
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
    from transformers import (
        AutoConfig,
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    raw = {name: datasets.Dataset.from_dict(read_conll(args.data / f"{name}.txt")) for name in ("train", "test")}
    label_list = sorted({tag for tags in raw["train"]["ner_tags"] for tag in tags})  # run_ner: get_label_list
    label_to_id = {label: i for i, label in enumerate(label_list)}
    tokenizer = AutoTokenizer.from_pretrained(args.model)

    def tokenize_and_align_labels(examples):
        tokenized = tokenizer(examples["tokens"], padding=False, truncation=True, is_split_into_words=True)
        labels = []
        for i, tags in enumerate(examples["ner_tags"]):
            previous, ids = None, []
            for word in tokenized.word_ids(batch_index=i):
                ids.append(-100 if word is None or word == previous else label_to_id[tags[word]])
                previous = word
            labels.append(ids)
        tokenized["labels"] = labels
        return tokenized

    encoded = {
        name: split.map(tokenize_and_align_labels, batched=True, remove_columns=split.column_names)
        for name, split in raw.items()
    }
    set_seed(args.seed)
    overrides = {} if args.attention_dropout is None else {"attention_probs_dropout_prob": args.attention_dropout}
    config = AutoConfig.from_pretrained(
        args.model,
        num_labels=len(label_list),
        label2id=label_to_id,
        id2label=dict(enumerate(label_list)),
        **overrides,
    )
    attention = {} if args.attn_implementation is None else {"attn_implementation": args.attn_implementation}
    model = AutoModelForTokenClassification.from_pretrained(args.model, config=config, **attention)

    def compute_metrics(prediction):
        predictions = np.argmax(prediction.predictions, axis=2)
        true_predictions = [
            [label_list[p] for p, label in zip(row, labels, strict=True) if label != -100]
            for row, labels in zip(predictions, prediction.label_ids, strict=True)
        ]
        true_labels = [[label_list[label] for label in labels if label != -100] for labels in prediction.label_ids]
        return {
            "precision": precision_score(true_labels, true_predictions),
            "recall": recall_score(true_labels, true_predictions),
            "f1": f1_score(true_labels, true_predictions),
            "accuracy": accuracy_score(true_labels, true_predictions),
        }

    training_args = TrainingArguments(
        output_dir=str(args.output),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=args.learning_rate,
        num_train_epochs=args.epochs,
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
        torch_compile=args.torch_compile,
    )
    timer = timing_callback()
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=encoded["train"],
        processing_class=tokenizer,
        data_collator=DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=None),
        compute_metrics=compute_metrics,
        callbacks=[timer],
    )
    started = time.perf_counter()
    trainer.train()
    train_wall = time.perf_counter() - started
    last, first = max(timer.at), args.warmup_steps
    sentences = min(last * args.batch_size, len(encoded["train"])) - first * args.batch_size
    result = {
        "name": f"Trainer (run_ner style, {args.sampling}"
        + ("" if args.attention_dropout is None else f", attention dropout {args.attention_dropout}")
        + ("" if args.attn_implementation is None else f", {args.attn_implementation} attention")
        + (", torch.compile" if args.torch_compile else "")
        + ")",
        "steps": last,
        "train_sentences_per_s": sentences / (timer.at[last] - timer.at[first]),
        "train_wall_s": train_wall,
    }
    if args.max_steps < 0:
        metrics = trainer.predict(encoded["test"]).metrics
        result["test"] = {
            k.removeprefix("test_"): v for k, v in metrics.items() if not k.endswith(("runtime", "_per_second"))
        }
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
