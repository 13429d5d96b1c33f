"""BERT pre-training: masked-LM plus next-sentence prediction (``BertForPreTraining``), as in the BERT paper.

Fields (after ``data.columns`` mapping): ``text`` (a sentence or a paragraph per row) and ``document`` (int id;
the data layer derives it from blank lines in .txt corpora). Rows are split into sentences, documents are cut into
[CLS] A [SEP] B [SEP] pairs (:mod:`bertkit.tasks.nsp`) with ``token_type_ids`` 0 for A and 1 for B and
``next_sentence_label`` 0 when B really follows A, 1 when B comes from another document. Pairs are built once per
split, seeded by the training seed; masks are drawn per batch exactly as for masked-LM (new every epoch).

With ``next_sentence_prediction: false`` the corpus is packed into full ``max_length`` blocks and trained with MLM
alone (``AutoModelForMaskedLM``), RoBERTa style.

From scratch, the tokenizer is trained on the corpus and the model built from ``model.architecture``
(:mod:`bertkit.modeling.scratch`); the saved folder loads in ``bertkit fill-mask`` (``AutoModelForMaskedLM`` takes
the MLM head of a ``BertForPreTraining`` checkpoint).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from bertkit.errors import ModelLoadError
from bertkit.tasks.base import EncodedSplit, require_columns
from bertkit.tasks.masked_lm import TEXT, WORD_IDS, MaskedLMTask, mlm_metrics, with_example_ids
from bertkit.tasks.masking import row_seed

DOCUMENT = "document"
NSP_LABEL = "next_sentence_label"
NSP_CLASSES = ("is_next", "random_next")  # next_sentence_label 0 and 1
SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}  # each split draws its pairs from its own stream


class PretrainingTask(MaskedLMTask):
    task_type: ClassVar[str] = "pretraining"
    auto_model_class: ClassVar[str] = "AutoModelForPreTraining"
    default_metric: str = "perplexity"
    model_inputs: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask", "token_type_ids", "labels", NSP_LABEL)
    label_inputs: ClassVar[tuple[str, ...]] = ("labels", NSP_LABEL)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.nsp = bool(spec.next_sentence_prediction)
        self.line_by_line = False  # without NSP, the corpus is packed into full blocks
        if self.nsp:
            self.label_names = list(NSP_CLASSES)  # the NSP classes, in next_sentence_label order
        else:
            self.auto_model_class = "AutoModelForMaskedLM"  # type: ignore[misc]
            self.model_inputs = ("input_ids", "attention_mask", "token_type_ids", "labels")  # type: ignore[misc]

    # ------------------------------------------------------------------------------------------------ data
    def encode(self, dataset: Any, tokenizer: Any, split: str) -> Any:
        if not self.nsp:
            return super().encode(dataset, tokenizer, split)
        from bertkit.tasks.corpus import (
            columns_to_dataset,
            ragged_column,
            special_ids,
            tokenize_column,
            unique_words,
        )
        from bertkit.tasks.nsp import build_pairs, group_documents, pair_features

        require_columns(dataset, split, [TEXT], self.task_type)
        if self.masker is None:
            self.configure_masking(tokenizer)
        cls_id, sep_id = special_ids(tokenizer)
        sentences = sentence_rows(dataset, split)
        tokenized = tokenize_column(
            sentences, tokenizer, with_word_ids=self.word_ids_from_tokenizer, desc=f"Tokenizing {split}"
        )
        tokens = ragged_column(tokenized, "input_ids")
        words = unique_words(ragged_column(tokenized, WORD_IDS)) if self.word_ids_from_tokenizer else None
        tokens, words, documents = group_documents(tokens, tokenized[DOCUMENT], words)
        pairs = build_pairs(
            documents,
            max_length=self.max_length,
            short_seq_prob=float(self.spec.short_seq_prob),
            random_next_probability=float(self.spec.nsp_random_probability),
            seed=row_seed(self.seed, SPLIT_STREAMS.get(split, 3), 0),
            split=split,
        )
        columns = pair_features(tokens.values, pairs, cls_id, sep_id, None if words is None else words.values)
        random_share = sum(pairs.label) / max(len(pairs), 1)
        self.prepare_notes.append(
            f"{split}: {len(pairs)} sentence pairs from {documents.count} documents ({len(tokens)} sentences), "
            f"{random_share:.1%} with a random second segment"
        )
        return columns_to_dataset(with_example_ids(columns))

    def split_stats(self, examples: Any, features: Any) -> Any:
        from bertkit.tasks.base import NUM_TOKENS, length_stats

        # Pairs are cut to fit by design (the longer segment is trimmed): nothing counts as truncated.
        stats = length_stats(features[NUM_TOKENS], self.max_length, features=len(features))
        stats.examples = len(examples)
        return stats

    def label_distribution(self, split: EncodedSplit) -> dict[str, int] | None:
        if not self.nsp:
            return None
        labels = split.features[NSP_LABEL]
        random_next = int(sum(labels))
        return dict(zip(NSP_CLASSES, (len(labels) - random_next, random_next), strict=True))

    # ----------------------------------------------------------------------------------------------- model
    def check_model(self, model: Any) -> None:
        import inspect

        super().check_model(model)
        if self.nsp and NSP_LABEL not in inspect.signature(model.forward).parameters:
            raise ModelLoadError(
                f"{type(model).__name__} has no next-sentence-prediction head ({model.config.model_type} models are "
                "pre-trained without NSP)",
                hint="Set task.next_sentence_prediction: false to train masked-LM alone.",
            )

    # --------------------------------------------------------------------------------------------- batches
    def collate_extra(self, features: Sequence[dict[str, Any]], batch: dict[str, Any]) -> None:
        import torch

        if self.nsp:
            batch[NSP_LABEL] = torch.tensor([f[NSP_LABEL] for f in features], dtype=torch.long)

    # ------------------------------------------------------------------------------------------- training
    def rows_loss(self, outputs: Any, inputs: dict[str, Any], rows: Any) -> Any:
        """Masked-LM loss plus next-sentence loss, as BertForPreTraining adds them."""
        masked = super().rows_loss(outputs, inputs, rows)
        if not self.nsp:
            return masked
        import torch.nn.functional as F

        return masked + F.cross_entropy(outputs.seq_relationship_logits.float(), inputs[NSP_LABEL])

    # ------------------------------------------------------------------------------------------ evaluation
    def eval_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        reduced = super().eval_reduce(outputs, batch)
        if self.nsp:
            nsp_prediction = outputs.seq_relationship_logits.argmax(dim=-1)
            reduced["nsp_correct"] = (nsp_prediction == batch[NSP_LABEL]).long()
        return reduced

    def compute_metrics(self, results: dict[str, Any], split: EncodedSplit) -> dict[str, float]:
        import numpy as np

        metrics = mlm_metrics(results)
        if self.nsp:
            correct = np.asarray(results["nsp_correct"], dtype=np.float64)
            metrics["nsp_accuracy"] = float(correct.mean()) if correct.size else 0.0
        return metrics

    def metric_names(self) -> list[str]:
        return super().metric_names() + (["nsp_accuracy"] if self.nsp else [])


def sentence_rows(dataset: Any, split: str) -> Any:
    """One row per sentence, with its document id (rows without a document column are documents of their own)."""
    from bertkit.tasks.corpus import split_sentences

    has_documents = DOCUMENT in dataset.column_names
    columns = [TEXT, DOCUMENT] if has_documents else [TEXT]

    def explode(batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
        texts: list[str] = []
        documents: list[int] = []
        owners = batch[DOCUMENT] if has_documents else indices
        for text, document in zip(batch[TEXT], owners, strict=True):
            for sentence in split_sentences(text if isinstance(text, str) else ""):
                texts.append(sentence)
                documents.append(int(document))
        return {TEXT: texts, DOCUMENT: documents}

    return dataset.select_columns(columns).map(
        explode, batched=True, with_indices=True, remove_columns=columns, desc=f"Splitting {split} into sentences"
    )
