"""Extractive question answering (SQuAD v1.1 / v2.0): doc-stride windows, answer spans, n-best evaluation.

Fields (after ``data.columns`` mapping): ``question``, ``context``, ``answers`` ({text: [...], answer_start:
[...]}), ``id``. Every question + context becomes one or more windows of at most ``task.max_length`` tokens whose
contexts overlap by ``task.doc_stride`` tokens (:func:`bertkit.tasks.windows.qa_features`, the code ``bertkit qa``
runs); questions are cut after ``task.max_question_length`` tokens (counted in the notes).

Training: each window's target is the first answer's token span, or the [CLS] position when the answer is not
wholly inside that window (or the question has none, SQuAD 2.0). An answer whose text is not at its
``answer_start`` is looked up in the context (nearest occurrence); one that is not in the context at all is not
trained on (counted in the notes).

Evaluation: right after each forward pass, every window's start/end logits shrink to its ``task.n_best`` best
spans of at most ``task.max_answer_length`` tokens and its no-answer score (:func:`bertkit.tasks.spans.
feature_spans`), so memory stays flat; the windows of a question are then merged by
:func:`bertkit.tasks.spans.best_answers` (SQuAD 2.0: no answer when null score - best span score >
``task.null_score_threshold``) and scored with the official SQuAD normalisation (exact match, F1:
:func:`bertkit.evaluation.metrics.squad.squad_metrics`, the scorer of ``bertkit evaluate``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar

from bertkit.errors import DataError, RecipeError
from bertkit.tasks.base import (
    FEATURE_INDEX,
    LENGTH,
    NUM_TOKENS,
    EncodedSplit,
    SplitStats,
    Task,
    pad_rows,
    require_columns,
)
from bertkit.tasks.base import length_stats as token_length_stats
from bertkit.tasks.qa_scoring import first_answer, truncate_questions
from bertkit.tasks.spans import FeatureSpans, SpanCandidate, best_answers, feature_spans
from bertkit.tasks.token_classification import EXAMPLE_INDEX, example_lengths
from bertkit.tasks.windows import answer_token_span, qa_features, special_template

QUESTION, CONTEXT, ANSWERS, ID = "question", "context", "answers", "id"
CONTEXT_START, CONTEXT_END, CLS_INDEX = "context_start", "context_end", "cls_index"  # window positions
OFFSET_STARTS, OFFSET_ENDS = "offset_starts", "offset_ends"  # characters of each context token of a window
CHUNK = 1000  # examples encoded at a time


class QuestionAnsweringTask(Task):
    task_type: ClassVar[str] = "question-answering"
    auto_model_class: ClassVar[str] = "AutoModelForQuestionAnswering"
    default_metric: str = "f1"
    model_inputs: ClassVar[tuple[str, ...]] = (
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "start_positions",
        "end_positions",
    )
    needs_fast_tokenizer: ClassVar[bool] = True

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.doc_stride = int(spec.doc_stride)
        self.with_negative = bool(spec.version_2_with_negative)

    # ------------------------------------------------------------------------------------------------ data
    def setup(self, splits: Any) -> list[str]:
        notes = []
        for name in ("train", "validation", "test"):
            dataset = getattr(splits, name, None)
            if dataset is None:
                continue
            require_columns(dataset, name, [QUESTION, CONTEXT, ANSWERS], self.task_type)
            outcomes = Counter(first_answer(c, a)[1] for c, a in zip(dataset[CONTEXT], dataset[ANSWERS], strict=True))
            if outcomes["none"] and not self.with_negative:
                raise DataError(
                    f"{outcomes['none']} of {len(dataset)} {name} questions have no answer (SQuAD 2.0 style), "
                    "but task.version_2_with_negative is false",
                    hint="Set task.version_2_with_negative: true to train and score 'no answer', or remove them.",
                )
            if name == "train" and (outcomes["moved"] or outcomes["missing"]):
                notes.append(
                    f"train: {outcomes['moved']} answer(s) not at their answer_start were found elsewhere in the "
                    f"context and trained there; {outcomes['missing']} question(s) whose answer text is not in "
                    "the context are not trained on"
                )
        version = "SQuAD 2.0 style (questions may have no answer)" if self.with_negative else "SQuAD 1.1 style"
        return [
            f"question answering, {version}; windows of {self.max_length} tokens, doc stride {self.doc_stride}",
            *notes,
        ]

    def check_room(self, tokenizer: Any) -> None:
        """The doc stride must leave new context in every window, even next to the longest question allowed."""
        specials = special_template(tokenizer, pair=True).size
        room = self.max_length - specials - self.spec.max_question_length
        if self.doc_stride >= room:
            raise RecipeError(
                f"task.doc_stride ({self.doc_stride}) must be less than the room left for the context: "
                f"task.max_length ({self.max_length}) - task.max_question_length ({self.spec.max_question_length}) "
                f"- {specials} special tokens = {room}",
                hint=f"Lower task.doc_stride to {max(room // 2, 0)} or less, or raise task.max_length.",
            )

    def encode(self, dataset: Any, tokenizer: Any, split: str) -> Any:
        import datasets

        require_columns(dataset, split, [QUESTION, CONTEXT, ANSWERS], self.task_type)
        self.check_room(tokenizer)
        evaluating = split != "train"
        counts: Counter[str] = Counter()
        parts = []
        for begin in range(0, len(dataset), CHUNK):
            rows = dataset[begin : begin + CHUNK]
            parts.append(datasets.Dataset.from_dict(self.encode_rows(rows, begin, tokenizer, evaluating, counts)))
        self.count_notes(split, len(dataset), counts)
        return datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]

    def encode_rows(
        self, rows: dict[str, list[Any]], begin: int, tokenizer: Any, evaluating: bool, counts: Counter[str]
    ) -> dict[str, list[Any]]:
        questions, cut = truncate_questions(tokenizer, rows[QUESTION], self.spec.max_question_length)
        counts["questions cut"] += cut
        features = qa_features(
            tokenizer, questions, rows[CONTEXT], max_length=self.max_length, doc_stride=self.doc_stride
        )
        spans = [first_answer(c, a) for c, a in zip(rows[CONTEXT], rows[ANSWERS], strict=True)]
        sizes = Counter(f.example_index for f in features)
        full_length: dict[int, int] = defaultdict(int)  # question + whole context + special tokens
        for feature in features:
            end = feature.context_start + len(feature.input_ids)
            full_length[feature.example_index] = max(full_length[feature.example_index], end)
        out: dict[str, list[Any]] = defaultdict(list)
        for feature in features:
            chars, outcome = spans[feature.example_index]
            if outcome == "missing" and not evaluating:
                continue
            tokens = answer_token_span(feature, *chars) if chars else None
            counts["windows"] += 1
            counts["windows without the answer"] += tokens is None
            first, last = tokens or (feature.cls_index, feature.cls_index)
            out["input_ids"].append(feature.input_ids)
            out["token_type_ids"].append(feature.token_type_ids)
            out["start_positions"].append(first)
            out["end_positions"].append(last)
            out[EXAMPLE_INDEX].append(begin + feature.example_index)
            out[LENGTH].append(len(feature.input_ids))
            out[NUM_TOKENS].append(full_length[feature.example_index])
            counts["long examples"] += sizes[feature.example_index] > 1 and feature.context_start == 0
            if evaluating:
                lo, hi = feature.context_range
                out[CONTEXT_START].append(lo)
                out[CONTEXT_END].append(hi)
                out[CLS_INDEX].append(feature.cls_index)
                out[OFFSET_STARTS].append([feature.offsets[i][0] for i in range(lo, hi)])
                out[OFFSET_ENDS].append([feature.offsets[i][1] for i in range(lo, hi)])
        return out

    def prepare(self, splits: Any, tokenizer: Any) -> dict[str, EncodedSplit]:
        self.prepare_notes = []
        return super().prepare(splits, tokenizer)

    def count_notes(self, split: str, examples: int, counts: Counter[str]) -> None:
        if counts["questions cut"]:
            self.prepare_notes.append(
                f"{split}: {counts['questions cut']} of {examples} questions are longer than "
                f"task.max_question_length={self.spec.max_question_length} tokens and are cut"
            )
        if counts["long examples"]:
            self.prepare_notes.append(
                f"{split}: {counts['long examples']} of {examples} contexts need more than one window "
                f"({counts['windows']} windows in all); {counts['windows without the answer']} windows do not hold "
                "the answer and are labelled no-answer ([CLS]) for the loss"
            )

    def split_stats(self, examples: Any, features: Any) -> SplitStats:
        """Per question; nothing of a context is lost (long contexts become several windows)."""
        lengths = example_lengths(features) if len(features) else []
        stats = token_length_stats(lengths, self.max_length, features=len(features))
        stats.examples, stats.truncated = len(examples), 0
        return stats

    # ----------------------------------------------------------------------------------------------- model
    def default_dropout(self, option: str) -> tuple[float, str] | None:
        """No attention dropout when training on CPU, unless the recipe sets model.attention_dropout.

        PyTorch's fused CPU attention kernel cannot apply dropout: with dropout the CPU falls back to the unfused
        path (attention probabilities materialised, a random mask drawn per element): 1.4x slower per step at
        SQuAD's lengths, ~2.6x at 384 tokens (bench/qa.py).
        """
        from bertkit.modeling.device import select_device

        if option != "attention_dropout" or select_device("auto").type != "cpu":
            return None
        why = "default for question answering on CPU, where attention dropout rules out the fused attention kernel"
        return 0.0, why + "; set model.attention_dropout to keep the model's value"

    def model_config_updates(self) -> dict[str, Any]:
        return {
            "bertkit": {
                "task": self.task_type,
                "max_length": self.max_length,
                "doc_stride": self.doc_stride,
                "max_answer_length": self.spec.max_answer_length,
                "version_2_with_negative": self.with_negative,
                "null_score_threshold": self.spec.null_score_threshold,
            }
        }

    def collate(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Padded model inputs and span targets; evaluation batches also carry each window's context offsets."""
        import torch

        lengths = torch.tensor([len(f["input_ids"]) for f in features], dtype=torch.long)
        longest = int(lengths.max())
        if self.pad_to_multiple_of > 1:
            longest = min(-(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of, self.max_length)
            longest = max(longest, int(lengths.max()))
        batch = {
            "input_ids": pad_rows([f["input_ids"] for f in features], longest, self.pad_token_id),
            "attention_mask": (torch.arange(longest)[None, :] < lengths[:, None]).long(),
            "token_type_ids": pad_rows([f["token_type_ids"] for f in features], longest, 0),
            "start_positions": torch.tensor([f["start_positions"] for f in features], dtype=torch.long),
            "end_positions": torch.tensor([f["end_positions"] for f in features], dtype=torch.long),
        }
        if FEATURE_INDEX in features[0]:  # the engine keeps feature_index in evaluation batches only
            offsets = torch.full((len(features), longest, 2), -1, dtype=torch.long)
            for row, f in enumerate(features):
                lo, hi = f[CONTEXT_START], f[CONTEXT_END]
                offsets[row, lo:hi, 0] = torch.tensor(f[OFFSET_STARTS], dtype=torch.long)
                offsets[row, lo:hi, 1] = torch.tensor(f[OFFSET_ENDS], dtype=torch.long)
            batch["offsets"] = offsets
            batch["context_range"] = torch.tensor([[f[CONTEXT_START], f[CONTEXT_END]] for f in features])
            batch[CLS_INDEX] = torch.tensor([f[CLS_INDEX] for f in features], dtype=torch.long)
            batch[FEATURE_INDEX] = torch.tensor([f[FEATURE_INDEX] for f in features], dtype=torch.long)
        return batch

    # ------------------------------------------------------------------------------------------ evaluation
    def eval_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        """Each window's n-best spans (characters, probability score, start+end logit) and no-answer scores."""
        import numpy as np
        import torch

        starts = outputs.start_logits.float().cpu().numpy()
        ends = outputs.end_logits.float().cpu().numpy()
        offsets = batch["offsets"].cpu().tolist()
        ranges = batch["context_range"].cpu().tolist()
        cls = batch[CLS_INDEX].cpu().tolist()
        rows, k = len(cls), int(self.spec.n_best)
        chars = np.full((rows, k, 2), -1, dtype=np.int64)
        scores = np.zeros((rows, k, 2), dtype=np.float32)  # (probability score, start + end logit)
        null = np.zeros((rows, 2), dtype=np.float32)
        for row in range(rows):
            found = feature_spans(
                starts[row],
                ends[row],
                [tuple(o) if o[0] >= 0 else None for o in offsets[row]],
                tuple(ranges[row]),
                cls[row],
                top_k=k,
                max_answer_length=self.spec.max_answer_length,
            )
            for rank, cand in enumerate(found.candidates):
                chars[row, rank] = (cand.start, cand.end)
                scores[row, rank] = (cand.score, cand.logit)
            null[row] = (found.null_score, found.null_logit)
        device = outputs.start_logits.device
        return {
            "span_chars": torch.from_numpy(chars).to(device),
            "span_scores": torch.from_numpy(scores).to(device),
            "null_scores": torch.from_numpy(null).to(device),
            "feature_index": batch[FEATURE_INDEX],
        }

    def predict(self, results: dict[str, Any], split: EncodedSplit) -> list[Any]:
        """:class:`bertkit.tasks.spans.ExampleAnswers` of every example, in the split's example order."""
        import numpy as np

        example_of = split.features[EXAMPLE_INDEX]
        windows: dict[int, list[FeatureSpans]] = defaultdict(list)
        chars, scores, null = (np.asarray(results[k]) for k in ("span_chars", "span_scores", "null_scores"))
        for row, feature in enumerate(np.asarray(results["feature_index"]).tolist()):
            candidates = [
                SpanCandidate(int(s), int(e), float(p), float(logit), -1, -1)
                for (s, e), (p, logit) in zip(chars[row].tolist(), scores[row].tolist(), strict=True)
                if s >= 0
            ]
            windows[example_of[feature]].append(FeatureSpans(candidates, float(null[row, 0]), float(null[row, 1])))
        return [
            best_answers(
                context,
                windows[index],
                allow_no_answer=self.with_negative,
                null_threshold=self.spec.null_score_threshold,
            )
            for index, context in enumerate(split.examples[CONTEXT])
        ]

    def compute_metrics(self, results: dict[str, Any], split: EncodedSplit) -> dict[str, float]:
        from bertkit.evaluation.metrics.squad import squad_metrics

        predictions = [prediction_text(best) for best in self.predict(results, split)]
        gold = [answers["text"] for answers in split.examples[ANSWERS]]
        return squad_metrics(predictions, gold, version_2=self.with_negative)

    def metric_names(self) -> list[str]:
        names = ["exact_match", "f1"]
        if self.with_negative:
            names += ["has_ans_exact_match", "has_ans_f1", "no_ans_exact_match", "no_ans_f1"]
        return names

    def postprocess(self, results: dict[str, Any], split: EncodedSplit) -> list[dict[str, Any]]:
        ids = split.examples[ID] if ID in split.examples.column_names else range(len(split.examples))
        rows = []
        for example_id, best in zip(ids, self.predict(results, split), strict=True):
            top = best.answers[0] if best.answers else None
            rows.append(
                {
                    "id": str(example_id),
                    "prediction_text": prediction_text(best),
                    "start": None if top is None or best.no_answer else top.start,
                    "score": None if top is None else top.score,
                    "no_answer": best.no_answer,
                }
            )
        return rows


def prediction_text(best: Any) -> str:
    return "" if best.no_answer or not best.answers else best.answers[0].text
