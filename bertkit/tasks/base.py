"""The Task interface: everything the training engine needs to know about one kind of fine-tuning.

The engine (``bertkit.training``) is task-agnostic. A task module (one per task type) subclasses :class:`Task`
and says how raw examples become features (:meth:`Task.encode`), which model head to load
(:attr:`Task.auto_model_class`, :meth:`Task.model_config_updates`), how features become a padded batch
(:meth:`Task.collate`), how model outputs shrink to small per-batch results right after the forward pass
(:meth:`Task.eval_reduce`, so evaluation memory stays flat) and how those results become metrics
(:meth:`Task.compute_metrics`) and readable predictions (:meth:`Task.postprocess`). Adding a task is one new
module plus its line in ``bertkit/tasks/registry.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bertkit.errors import DataError, ModelLoadError

# Columns the engine adds to every encoded split; they never reach the model.
LENGTH = "length"  # tokens after truncation (what the batch pads to)
NUM_TOKENS = "num_tokens"  # tokens before truncation (truncation accounting)
FEATURE_INDEX = "feature_index"  # row of the encoded split, to map evaluation results back
ENGINE_COLUMNS = (LENGTH, NUM_TOKENS, FEATURE_INDEX)
LOWER_IS_BETTER = ("loss", "perplexity", "mse", "mae", "rmse")


@dataclass
class SplitStats:
    """Token-length facts of one split, before any compute is spent (dry run, truncation report)."""

    examples: int
    features: int
    max_length: int
    truncated: int
    length_percentiles: dict[str, int] = field(default_factory=dict)

    @property
    def truncated_share(self) -> float:
        return self.truncated / self.examples if self.examples else 0.0


@dataclass
class EncodedSplit:
    """A split as raw examples (for post-processing) and as model features (for batches)."""

    name: str
    examples: Any  # datasets.Dataset with canonical columns
    features: Any  # datasets.Dataset with model inputs, labels and ENGINE_COLUMNS
    stats: SplitStats


def length_stats(num_tokens: Sequence[int], max_length: int, features: int | None = None) -> SplitStats:
    import numpy as np

    lengths = np.asarray(num_tokens, dtype=np.int64)
    percentiles = {}
    if lengths.size:
        for q in (50, 90, 95, 99):
            percentiles[f"p{q}"] = int(np.percentile(lengths, q, method="higher"))
        percentiles["max"] = int(lengths.max())
    return SplitStats(
        examples=int(lengths.size),
        features=int(lengths.size if features is None else features),
        max_length=max_length,
        truncated=int((lengths > max_length).sum()),
        length_percentiles=percentiles,
    )


def require_columns(dataset: Any, split: str, required: Sequence[str], task_type: str) -> None:
    """A clear error naming the missing fields, the columns that exist, and the recipe key that maps them."""
    missing = [c for c in required if c not in dataset.column_names]
    if missing:
        raise DataError(
            f"the {split} split has no column {', '.join(repr(c) for c in missing)} needed for {task_type} "
            f"(columns: {', '.join(dataset.column_names) or 'none'})",
            hint="Map your column names to the task's fields in the recipe, e.g. data.columns: "
            f"{{{missing[0]}: your_column}}.",
        )


class Task(ABC):
    """One task type. Instances hold the recipe's task section and the labels resolved from the data."""

    task_type: ClassVar[str]
    auto_model_class: ClassVar[
        str
    ]  # transformers auto class of the model head, e.g. AutoModelForSequenceClassification
    default_metric: str = "loss"  # picks the best checkpoint unless evaluation.metric says otherwise
    model_inputs: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask", "token_type_ids", "labels")
    needs_fast_tokenizer: ClassVar[bool] = False
    # What of the last layer the training loss reads: "all", "first" (position 0, [CLS]) or "labeled" (positions
    # with a label, inside bertkit.modeling.packing.packed_tokens): the speed-ups skip the rest.
    head_reads: ClassVar[str] = "all"
    # Chunks of similar lengths per length-grouped batch when the model's layers skip the padding (see
    # bertkit.training.sampling); 1: whole batches of similar lengths.
    length_chunks: ClassVar[int] = 1

    def __init__(self, spec: Any) -> None:
        self.spec = spec  # the recipe's task section (bertkit.recipes.schema)
        self.label_names: list[str] | None = None
        self.pad_token_id = 0
        self.pad_to_multiple_of = 1
        self.max_length = int(getattr(spec, "max_length", 512))
        self.prepare_notes: list[str] = []  # what encoding found (windows, truncated questions): shown in the log

    # ------------------------------------------------------------------------------------------- run hooks
    def set_seed(self, seed: int) -> None:
        """The run's seed (training.seed), given before any encoding; tasks with random collation seed from it."""
        self.seed = int(seed)

    def set_epoch(self, epoch: int) -> None:
        """The training pass about to start (0-based), given before its batches are drawn."""
        self.epoch = int(epoch)

    # ------------------------------------------------------------------------------------------------ data
    def setup(self, splits: Any) -> list[str]:
        """Resolve labels (and anything else learnt from the data) before encoding; returns notes for the log."""
        return []

    @abstractmethod
    def encode(self, dataset: Any, tokenizer: Any, split: str) -> Any:
        """Raw examples -> features: model inputs and ``labels``, plus ``length`` and ``num_tokens`` columns."""

    def prepare(self, splits: Any, tokenizer: Any) -> dict[str, EncodedSplit]:
        """Encode every split that exists; ``feature_index`` is added so results map back to features."""
        encoded = {}
        for name in ("train", "validation", "test"):
            dataset = getattr(splits, name, None)
            if dataset is None:
                continue
            if len(dataset) == 0:
                raise DataError(f"the {name} split is empty", hint="Check the data files and data.*_split keys.")
            features = self.encode(dataset, tokenizer, name)
            features = features.add_column(FEATURE_INDEX, list(range(len(features))))
            encoded[name] = EncodedSplit(name, dataset, features, self.split_stats(dataset, features))
        return encoded

    def split_stats(self, examples: Any, features: Any) -> SplitStats:
        return length_stats(features[NUM_TOKENS], self.max_length, features=len(features))

    def label_distribution(self, split: EncodedSplit) -> dict[str, int] | None:
        """Examples per label (dry run and reports); None for tasks without classes."""
        return None

    # ----------------------------------------------------------------------------------------------- model
    def default_dropout(self, option: str) -> tuple[float, str] | None:
        """``(value, why)`` for ``model.<option>`` (hidden_dropout, attention_dropout) when the recipe leaves it
        unset; None keeps the model's own value."""
        return None

    def model_config_updates(self) -> dict[str, Any]:
        """Config values the head needs (num_labels, id2label/label2id with real names, problem_type)."""
        return {}

    def build_model(self, location: str, config: Any, *, trust_remote_code: bool = False, revision: str | None = None):
        """Load the pretrained weights under this task's head; returns ``(model, notes)``."""
        import transformers

        auto_cls = getattr(transformers, self.auto_model_class)
        try:
            model, info = auto_cls.from_pretrained(
                location,
                config=config,
                revision=revision,
                trust_remote_code=trust_remote_code,
                ignore_mismatched_sizes=True,
                output_loading_info=True,
            )
        except ValueError as err:
            if "Unrecognized configuration class" in str(err) or "does not support" in str(err):
                raise ModelLoadError(
                    f"model '{location}' (type {config.model_type}) cannot do {self.task_type}: transformers has "
                    f"no {self.auto_model_class} for this architecture",
                    hint="Pick an encoder such as BERT, RoBERTa, DistilBERT or MiniLM for model.name.",
                ) from None
            raise
        return model, self.loading_notes(info)

    def loading_notes(self, info: dict[str, Any]) -> list[str]:
        notes = []
        new = [k for k in info.get("missing_keys", []) if not k.endswith(("position_ids", "token_type_ids"))]
        if new:
            notes.append(f"new {self.task_type} head initialised: {', '.join(sorted(new)[:4])}")
        mismatched = [str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys", [])]
        if mismatched:
            notes.append(f"head replaced (its shape did not fit the labels): {', '.join(mismatched[:4])}")
        return notes

    # --------------------------------------------------------------------------------------------- batches
    def collate(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Pad a batch to its longest feature (rounded up to ``pad_to_multiple_of``)."""
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        multiple = self.pad_to_multiple_of
        if multiple > 1:
            longest = min(-(-longest // multiple) * multiple, max(longest, self.max_length))
        batch = {"input_ids": pad_rows([f["input_ids"] for f in features], longest, self.pad_token_id)}
        batch["attention_mask"] = (
            torch.arange(longest)[None, :] < torch.tensor([len(f["input_ids"]) for f in features])[:, None]
        ).long()
        if "token_type_ids" in features[0]:
            batch["token_type_ids"] = pad_rows([f["token_type_ids"] for f in features], longest, 0)
        batch["labels"] = self.collate_labels([f["labels"] for f in features])
        if FEATURE_INDEX in features[0]:
            batch[FEATURE_INDEX] = torch.tensor([f[FEATURE_INDEX] for f in features], dtype=torch.long)
        return batch

    def collate_labels(self, labels: list[Any]) -> Any:
        import torch

        return torch.tensor(labels, dtype=torch.long)

    def forward_inputs(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k in self.model_inputs}

    def training_loss(self, model: Any, batch: dict[str, Any]) -> Any:
        """The loss of one training batch (by default the model's own, a mean over the batch)."""
        return model(**self.forward_inputs(batch)).loss

    # ------------------------------------------------------------------------------------------ evaluation
    @abstractmethod
    def eval_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        """Shrink a batch's outputs to small tensors (predictions, labels, feature_index) before gathering."""

    @abstractmethod
    def compute_metrics(self, results: dict[str, Any], split: EncodedSplit) -> dict[str, float]:
        """Metrics from the gathered results of a whole split (numpy arrays, one row per feature)."""

    def metric_names(self) -> list[str] | None:
        """Names ``compute_metrics`` returns (checked against evaluation.metric before training); None: unknown."""
        return None

    def postprocess(self, results: dict[str, Any], split: EncodedSplit) -> list[dict[str, Any]]:
        """Readable per-example predictions (label names, not ids), in the split's example order."""
        return []

    def greater_is_better(self, metric: str) -> bool:
        return not any(metric == m or metric.endswith("_" + m) for m in LOWER_IS_BETTER)


def pad_rows(rows: Sequence[Sequence[int]], length: int, pad_id: int) -> Any:
    """One LongTensor of ``rows`` right-padded with ``pad_id`` (a single copy: cheaper than per-row tensors)."""
    import torch

    return torch.tensor([list(r) + [pad_id] * (length - len(r)) for r in rows], dtype=torch.long)
