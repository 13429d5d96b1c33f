"""Masked-LM training: continued (domain-adaptive) pre-training of an encoder on a text corpus.

Fields (after ``data.columns`` mapping): ``text``. Each text becomes one example ([CLS] text [SEP], cut to
``task.max_length``) or, with ``line_by_line: false``, the texts are packed into full blocks of ``max_length``
tokens. Masking happens in :meth:`MaskedLMTask.collate`, per row, seeded by (training seed, epoch, example id)
(see :mod:`bertkit.tasks.masking`): training sees new masks every epoch (when the engine calls
:meth:`MaskedLMTask.set_epoch`), evaluation sees the same masks at every evaluation so perplexities compare.

Metrics: ``perplexity`` = exp(mean cross-entropy over all masked tokens of the split) and ``accuracy`` = share of
masked tokens predicted exactly. A model without an MLM head (such as the packaged MiniLM) gets a new, randomly
initialised head, announced in the run's notes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from bertkit.errors import ModelLoadError
from bertkit.tasks.base import FEATURE_INDEX, EncodedSplit, Task, pad_rows, require_columns
from bertkit.tasks.masking import IGNORE_INDEX, NO_WORD, MaskingSpec, TokenMasker, row_seed

TEXT = "text"
EXAMPLE_ID = "example_id"  # a feature's row in its encoded split: the masking seed's example id
WORD_IDS = "word_ids"
EVAL_EPOCH = -1  # evaluation masks use this epoch, so they never change between evaluations
HEAD_PREFIXES = ("cls.", "lm_head.", "vocab_", "predictions.", "generator_")


class MaskedLMTask(Task):
    task_type: ClassVar[str] = "masked-lm"
    auto_model_class: ClassVar[str] = "AutoModelForMaskedLM"
    default_metric: str = "perplexity"
    model_inputs: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask", "token_type_ids", "labels")
    head_reads: ClassVar[str] = "labeled"
    label_inputs: ClassVar[tuple[str, ...]] = ("labels",)  # targets the loss reads, not the model's inputs

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.masking = MaskingSpec.from_task(spec)
        self.line_by_line = bool(getattr(spec, "line_by_line", True))
        self.seed = 0  # set_seed(training.seed) makes masks follow the recipe's seed
        self.epoch = 0
        self.masker: TokenMasker | None = None
        self.word_ids_from_tokenizer = False
        if not hasattr(self, "prepare_notes"):
            self.prepare_notes: list[str] = []  # shown in the run's log (engines that collect them)

    # ------------------------------------------------------------------------------------------ run hooks
    def set_seed(self, seed: int) -> None:
        """The training seed: masks (and NSP pairs) depend on it."""
        self.seed = int(seed)

    def set_epoch(self, epoch: int) -> None:
        """The epoch being trained: every epoch draws new masks for the same examples."""
        self.epoch = int(epoch)

    # ------------------------------------------------------------------------------------------------ data
    def setup(self, splits: Any) -> list[str]:
        from bertkit.tasks.corpus import require_text

        sources = getattr(splits, "sources", None) or {}
        for name in ("train", "validation", "test"):
            dataset = getattr(splits, name, None)
            if dataset is not None:
                require_columns(dataset, name, self.required_fields(), self.task_type)
                require_text(dataset, name, sources.get(name))
        return []

    def required_fields(self) -> list[str]:
        return [TEXT]

    def prepare(self, splits: Any, tokenizer: Any) -> dict[str, EncodedSplit]:
        self.configure_masking(tokenizer)
        return super().prepare(splits, tokenizer)

    def configure_masking(self, tokenizer: Any) -> None:
        self.masker = TokenMasker.for_tokenizer(tokenizer, self.masking)
        self.pad_token_id = int(tokenizer.pad_token_id)
        if not self.masking.whole_word_masking:
            return
        self.word_ids_from_tokenizer = bool(getattr(tokenizer, "is_fast", False))
        if not self.word_ids_from_tokenizer and not self.masker.knows_continuations:
            raise ModelLoadError(
                "whole-word masking needs a fast tokenizer (for word ids) or a WordPiece vocabulary (## pieces)",
                hint="Use a model with a fast tokenizer, or set task.whole_word_masking: false.",
            )

    def encode(self, dataset: Any, tokenizer: Any, split: str) -> Any:
        from bertkit.tasks.corpus import (
            columns_to_dataset,
            line_by_line,
            pack_blocks,
            ragged_column,
            special_ids,
            tokenize_column,
        )

        require_columns(dataset, split, [TEXT], self.task_type)
        if self.masker is None:
            self.configure_masking(tokenizer)
        cls_id, sep_id = special_ids(tokenizer)
        tokenized = tokenize_column(
            dataset.select_columns([TEXT]),
            tokenizer,
            with_word_ids=self.word_ids_from_tokenizer,
            desc=f"Tokenizing {split}",
        )
        tokens = ragged_column(tokenized, "input_ids")
        words = ragged_column(tokenized, WORD_IDS) if self.word_ids_from_tokenizer else None
        build = line_by_line if self.line_by_line else pack_blocks
        columns = build(tokens, words, cls_id, sep_id, self.max_length)
        if not self.line_by_line:
            self.prepare_notes.append(
                f"{split}: {len(tokens)} texts ({len(tokens.values)} tokens) packed into {len(columns['length'])} "
                f"blocks of up to {self.max_length} tokens"
            )
        return columns_to_dataset(with_example_ids(columns))

    # ----------------------------------------------------------------------------------------------- model
    def loading_notes(self, info: dict[str, Any]) -> list[str]:
        missing = [k for k in info.get("missing_keys", []) if not k.endswith(("position_ids", "token_type_ids"))]
        head = sorted(k for k in missing if k.startswith(HEAD_PREFIXES))
        notes = []
        if head:
            notes.append(
                f"the model has no pre-trained masked-LM head: a NEW, randomly initialised head is trained "
                f"({', '.join(head[:4])}{', ...' if len(head) > 4 else ''}); expect a high perplexity at first"
            )
        other = sorted(set(missing) - set(head))
        if other:
            notes.append(f"weights not in the checkpoint, newly initialised: {', '.join(other[:4])}")
        return notes

    def build_model(self, location: str, config: Any, *, trust_remote_code: bool = False, revision: str | None = None):
        model, notes = super().build_model(location, config, trust_remote_code=trust_remote_code, revision=revision)
        self.check_model(model)
        return model, notes

    def build_scratch_model(self, config: Any, *, seed: int | None = None) -> tuple[Any, list[str]]:
        """Randomly initialised weights under this task's head (``model.from_scratch``)."""
        from bertkit.modeling.scratch import new_model

        model = new_model(config, self.auto_model_class, seed=seed)
        self.check_model(model)
        return model, [f"{type(model).__name__} initialised from scratch ({model.num_parameters():,} parameters)"]

    def check_model(self, model: Any) -> None:
        """Token ids must fit the model's embedding table (random replacements draw from the tokenizer)."""
        if self.masker is None:
            return
        rows = model.get_input_embeddings().weight.shape[0]
        if self.masker.replacement_ids.max() >= rows:
            raise ModelLoadError(
                f"the tokenizer has more tokens ({int(self.masker.replacement_ids.max()) + 1}) than the model's "
                f"embedding table ({rows})",
                hint="Use the tokenizer that belongs to model.name.",
            )

    # --------------------------------------------------------------------------------------------- batches
    def collate(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Pad, then mask: train rows draw masks from (seed, epoch, example id), evaluation rows from a fixed epoch."""
        import torch

        lengths = torch.tensor([len(f["input_ids"]) for f in features], dtype=torch.long)
        longest = self.padded_length(int(lengths.max()))
        input_ids = pad_rows([f["input_ids"] for f in features], longest, self.pad_token_id)
        batch: dict[str, Any] = {"attention_mask": (torch.arange(longest)[None, :] < lengths[:, None]).long()}
        if "token_type_ids" in features[0]:
            batch["token_type_ids"] = pad_rows([f["token_type_ids"] for f in features], longest, 0)
        word_ids = None
        if WORD_IDS in features[0]:
            word_ids = pad_rows([f[WORD_IDS] for f in features], longest, NO_WORD)
        evaluating = FEATURE_INDEX in features[0]  # the engine keeps feature_index in evaluation batches only
        epoch = EVAL_EPOCH if evaluating else self.epoch
        seeds = [row_seed(self.seed, epoch, int(f[EXAMPLE_ID])) for f in features]
        batch["input_ids"], batch["labels"] = self.require_masker().mask(input_ids, lengths, seeds, word_ids)
        self.collate_extra(features, batch)
        if evaluating:
            batch[FEATURE_INDEX] = torch.tensor([f[FEATURE_INDEX] for f in features], dtype=torch.long)
        return batch

    def collate_extra(self, features: Sequence[dict[str, Any]], batch: dict[str, Any]) -> None:
        """Task-specific batch entries (next_sentence_label for pre-training)."""

    def padded_length(self, longest: int) -> int:
        multiple = self.pad_to_multiple_of
        if multiple > 1:
            return min(-(-longest // multiple) * multiple, max(longest, self.max_length))
        return longest

    def require_masker(self) -> TokenMasker:
        if self.masker is None:
            raise RuntimeError("MaskedLMTask.prepare (or encode) must run before collate")
        return self.masker

    # ------------------------------------------------------------------------------------------- training
    def training_loss(self, model: Any, batch: dict[str, Any]) -> Any:
        """The model's own loss; with the speed-ups the same loss from logits computed at the masked positions
        only (bertkit.modeling.masked_rows.masked_rows), not at every position of the batch."""
        from bertkit.modeling.masked_rows import masked_rows

        inputs = self.forward_inputs(batch)
        with masked_rows(model, inputs, IGNORE_INDEX) as rows:
            if rows is None:
                return model(**inputs).loss
            outputs = model(**{k: v for k, v in inputs.items() if k not in self.label_inputs})
        return self.rows_loss(outputs, inputs, rows)

    def rows_loss(self, outputs: Any, inputs: dict[str, Any], rows: Any) -> Any:
        """The masked-LM loss (a mean over masked tokens, as the model's) from the logits of the masked rows."""
        import torch.nn.functional as F

        targets = inputs["labels"].flatten().index_select(0, rows)
        return F.cross_entropy(self.mlm_logits(outputs).float(), targets)

    # ------------------------------------------------------------------------------------------ evaluation
    def eval_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        loss_sum, n_masked, n_correct = masked_token_stats(self.mlm_logits(outputs), batch["labels"])
        return {
            "loss_sum": loss_sum,
            "n_masked": n_masked,
            "n_correct": n_correct,
            "feature_index": batch[FEATURE_INDEX],
        }

    @staticmethod
    def mlm_logits(outputs: Any) -> Any:
        """Masked-LM logits: ``logits`` of a *ForMaskedLM model, ``prediction_logits`` of BertForPreTraining."""
        logits = getattr(outputs, "prediction_logits", None)
        return outputs.logits if logits is None else logits

    def compute_metrics(self, results: dict[str, Any], split: EncodedSplit) -> dict[str, float]:
        return mlm_metrics(results)

    def metric_names(self) -> list[str]:
        return ["perplexity", "accuracy", "masked_loss"]


def with_example_ids(columns: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    rows = len(columns["length"])
    return {**columns, EXAMPLE_ID: np.arange(rows, dtype=np.int64)}


def masked_token_stats(logits: Any, labels: Any) -> tuple[Any, Any, Any]:
    """Per row: summed cross-entropy over its masked tokens, their count, and how many the model got right.
    Only masked positions are read, in float32, so the (B, L, V) logits are never copied whole."""
    import torch
    import torch.nn.functional as F

    selected = labels != IGNORE_INDEX
    rows = selected.nonzero(as_tuple=True)[0]
    picked = logits[selected].float()
    targets = labels[selected]
    losses = F.cross_entropy(picked, targets, reduction="none")
    correct = (picked.argmax(dim=-1) == targets).long()
    batch = labels.shape[0]
    loss_sum = torch.zeros(batch, dtype=torch.float32, device=logits.device).index_add_(0, rows, losses)
    n_masked = selected.sum(dim=1)
    n_correct = torch.zeros(batch, dtype=torch.long, device=logits.device).index_add_(0, rows, correct)
    return loss_sum, n_masked, n_correct


def mlm_metrics(results: dict[str, Any]) -> dict[str, float]:
    """Token-level metrics pooled over the whole split (not an average of per-batch averages)."""
    import numpy as np

    total = float(np.asarray(results["n_masked"], dtype=np.float64).sum())
    if total == 0:
        return {"perplexity": float("inf"), "accuracy": 0.0, "masked_loss": float("inf")}
    loss = float(np.asarray(results["loss_sum"], dtype=np.float64).sum()) / total
    return {
        "perplexity": math.exp(min(loss, 700.0)),
        "accuracy": float(np.asarray(results["n_correct"], dtype=np.float64).sum()) / total,
        "masked_loss": loss,
    }
