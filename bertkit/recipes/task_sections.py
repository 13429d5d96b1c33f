"""The ``task`` section of a recipe: one class per task type, a tagged union on ``task.type``.

Part of the recipe schema (:mod:`bertkit.recipes.schema`, which re-exports these names); the same rules hold:
every field documented once, unknown keys rejected, messages naming their dotted keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from bertkit.recipes.section import Section


class TextClassificationTask(Section):
    type: Literal["text-classification"]
    """Task type. text-classification: One label (or several, or a number) per text or text pair."""
    labels: list[str] | None = None
    """Class names in order (their position is the class id). Default: the dataset's ClassLabel names, or its
    sorted distinct labels. Integer labels in the data that are not class names are read as positions in this
    list (0 is the first name)."""
    problem_type: Literal["single_label", "multi_label", "regression"] = "single_label"
    """single_label (one class per text), multi_label (a list of classes per text) or regression (a number)."""
    max_length: int = Field(128, ge=8)
    """Longest input in tokens; longer texts are truncated and counted in the reports."""


class TokenClassificationTask(Section):
    type: Literal["token-classification"]
    """Task type. token-classification: One tag per word (named entities, part of speech)."""
    labels: list[str] | None = None
    """Tag names. Default: ClassLabel names of the dataset, else the tags found in the training data."""
    tag_scheme: Literal["iob1", "iob2", "bioes"] = "iob2"
    """Scheme of the tags in the data. iob1 data is converted to iob2; the scheme is saved with the model."""
    label_all_subwords: bool = False
    """Train on every subword of a word (default: only the first). Scoring is always per word."""
    token_weighted_loss: bool = True
    """Every labeled token weighs the same in the training loss, whatever batch it lands in (the batch's summed
    loss over its windows times the mean labeled tokens per window). false: the mean over each batch's tokens, as
    transformers' models compute it, which gives the tokens of short, length-grouped batches more weight."""
    max_length: int = Field(256, ge=16)
    """Window length in tokens; longer sentences are split into overlapping windows, never cut."""
    stride: int = Field(64, ge=0)
    """Tokens shared by consecutive windows; must leave room for new tokens in each window."""

    @model_validator(mode="after")
    def stride_fits(self) -> TokenClassificationTask:
        if self.stride > self.max_length // 2:
            raise ValueError(
                f"task.stride ({self.stride}) must be at most half of task.max_length ({self.max_length}), "
                "so that each window moves forward"
            )
        return self


class QuestionAnsweringTask(Section):
    type: Literal["question-answering"]
    """Task type. question-answering: Extract the answer span from a context (SQuAD style)."""
    max_length: int = Field(384, ge=32)
    """Feature length (question + context window) in tokens."""
    doc_stride: int = Field(128, ge=0)
    """Tokens shared by consecutive context windows."""
    max_question_length: int = Field(64, ge=1)
    """Questions longer than this are truncated (counted in reports)."""
    max_answer_length: int = Field(30, ge=1)
    """Longest answer span considered, in tokens."""
    n_best: int = Field(20, ge=1)
    """Candidate start/end positions searched per window."""
    version_2_with_negative: bool = False
    """SQuAD 2.0 style: questions may have no answer."""
    null_score_threshold: float = 0.0
    """Predict no answer when null score - best span score exceeds this (SQuAD 2.0 only)."""

    @model_validator(mode="after")
    def windows_fit(self) -> QuestionAnsweringTask:
        room = self.max_length - self.max_question_length - 3  # [CLS] question [SEP] context [SEP]
        if self.doc_stride >= room:
            raise ValueError(
                f"task.doc_stride ({self.doc_stride}) must be less than task.max_length - "
                f"task.max_question_length - 3 ({room}), so that each context window moves forward"
            )
        return self


class MaskedLMTask(Section):
    type: Literal["masked-lm"]
    """Task type. masked-lm: Continue masked-language-model pre-training of an existing model on your corpus."""
    mlm_probability: float = Field(0.15, gt=0.0, lt=1.0)
    """Share of tokens selected for prediction."""
    mask_replace_prob: float = Field(0.8, ge=0.0, le=1.0)
    """Of the selected tokens, the share replaced by [MASK]."""
    random_replace_prob: float = Field(0.1, ge=0.0, le=1.0)
    """Of the selected tokens, the share replaced by a random token (the rest stay unchanged)."""
    whole_word_masking: bool = False
    """Select whole words (all their subwords) instead of single subwords."""
    line_by_line: bool = True
    """One example per line/document; false packs the corpus into blocks of ``max_length`` tokens."""
    max_length: int = Field(128, ge=8)
    """Longest example (line-by-line) or block size (packed), in tokens."""

    @model_validator(mode="after")
    def replacement_shares(self) -> MaskedLMTask:
        if self.mask_replace_prob + self.random_replace_prob > 1.0 + 1e-9:
            raise ValueError("task.mask_replace_prob + task.random_replace_prob must be at most 1")
        return self


class TokenizerTraining(Section):
    """Train a WordPiece tokenizer on the corpus (pre-training from scratch)."""

    train: bool = True
    """Train a new tokenizer; false uses the tokenizer of ``model.name``."""
    vocab_size: int = Field(8000, ge=100)
    """Vocabulary size, special tokens included."""
    min_frequency: int = Field(2, ge=1)
    """Drop pieces seen fewer times."""
    lowercase: bool = True
    """Lowercase and strip accents (an uncased model)."""


class PretrainingTask(Section):
    type: Literal["pretraining"]
    """Task type. pretraining: Pre-train BERT with MLM and next-sentence prediction, usually from scratch."""
    tokenizer: TokenizerTraining = Field(default_factory=TokenizerTraining)
    """Tokenizer training settings."""
    next_sentence_prediction: bool = True
    """Train NSP with MLM (BertForPreTraining), as the original BERT paper."""
    nsp_random_probability: float = Field(0.5, gt=0.0, lt=1.0)
    """Share of pairs whose second segment is a random sentence from another document."""
    mlm_probability: float = Field(0.15, gt=0.0, lt=1.0)
    """Share of tokens selected for prediction (80% [MASK], 10% random, 10% unchanged)."""
    whole_word_masking: bool = False
    """Select whole words instead of single subwords."""
    max_length: int = Field(128, ge=16)
    """Pair length in tokens."""
    short_seq_prob: float = Field(0.1, ge=0.0, le=1.0)
    """Share of pairs made shorter than max_length, as in the original BERT data pipeline."""


TaskSection = Annotated[
    TextClassificationTask | TokenClassificationTask | QuestionAnsweringTask | MaskedLMTask | PretrainingTask,
    Field(discriminator="type"),
]
