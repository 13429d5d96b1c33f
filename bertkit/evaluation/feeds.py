"""Per-task feeds: a chunk's reduced model outputs -> evaluator input, prediction records, truncation counts.

The runner (:mod:`bertkit.evaluation.runner`) runs the model over a chunk of examples with the task's own
``collate`` and ``eval_reduce``; a feed then turns those small per-window results into per-example predictions
with the task's own post-processing (NER: :meth:`TokenClassificationTask.word_predictions`, QA:
:meth:`QuestionAnsweringTask.predict`), scores them with an evaluator that keeps only counts, and returns one
readable record per example for ``predictions.jsonl``. Truncation counts come from the encoded features.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bertkit.evaluation.base import Evaluator
from bertkit.evaluation.factory import make_evaluator
from bertkit.evaluation.results import TruncationStats
from bertkit.tasks.base import LENGTH, NUM_TOKENS, EncodedSplit, Task

QUESTION_CHUNK = 1000  # questions tokenized at a time when counting truncated questions


def in_order(results: dict[str, Any], *keys: str) -> list[Any]:
    """Result columns sorted by feature index (the runner batches features by length, not in order)."""
    import numpy as np

    order = np.argsort(results["feature_index"], kind="stable")
    return [np.asarray(results[key])[order] for key in keys]


class Feed:
    """Base feed; subclasses know one task family."""

    def __init__(self, task: Task, evaluator: Evaluator) -> None:
        self.task = task
        self.evaluator = evaluator

    def extra_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        """Per-batch values the evaluation needs beyond the task's ``eval_reduce`` (small tensors)."""
        return {}

    def add(self, results: dict[str, Any], chunk: EncodedSplit, offset: int) -> list[dict[str, Any]]:
        """Score a chunk (examples ``offset`` ...); returns one prediction record per example."""
        raise NotImplementedError

    def truncation(self, split: EncodedSplit, tokenizer: Any) -> TruncationStats:
        raise NotImplementedError

    def details(self, split: EncodedSplit) -> dict[str, Any]:
        return {}


def length_columns(features: Any) -> tuple[Any, Any]:
    import numpy as np

    return np.asarray(features[NUM_TOKENS], dtype=np.int64), np.asarray(features[LENGTH], dtype=np.int64)


class ClassificationFeed(Feed):
    def __init__(self, task: Task, worst_k: int) -> None:
        super().__init__(task, make_evaluator("text-classification", labels=task.label_names, worst_k=worst_k))
        self.names = list(task.label_names or [])

    def add(self, results: dict[str, Any], chunk: EncodedSplit, offset: int) -> list[dict[str, Any]]:
        gold, predicted, confidence = in_order(results, "labels", "predictions", "confidence")
        examples = chunk.examples
        texts = list(examples["text"])
        pairs = list(examples["text_pair"]) if "text_pair" in examples.column_names else None
        shown: list[Any] = [[t, p] for t, p in zip(texts, pairs, strict=True)] if pairs else texts
        ids = list(range(offset, offset + len(texts)))
        self.evaluator.add_batch(
            gold.tolist(), predicted.tolist(), confidences=confidence.tolist(), texts=shown, ids=ids
        )
        records = []
        for i, (g, p, c) in enumerate(zip(gold.tolist(), predicted.tolist(), confidence.tolist(), strict=True)):
            record = {"id": ids[i], "text": texts[i]}
            if pairs:
                record["text_pair"] = pairs[i]
            records.append({**record, "gold": self.names[g], "pred": self.names[p], "confidence": round(c, 6)})
        return records

    def truncation(self, split: EncodedSplit, tokenizer: Any) -> TruncationStats:
        num_tokens, length = length_columns(split.features)
        return TruncationStats(
            n_examples=len(split.examples),
            examples_truncated=int((num_tokens > length).sum()),
            tokens_total=int(num_tokens.sum()),
            tokens_truncated=int((num_tokens - length).sum()),
            max_length=self.task.max_length,
        )


def windowed_examples(features: Any) -> int:
    from bertkit.tasks.token_classification import EXAMPLE_INDEX

    return sum(1 for count in Counter(features[EXAMPLE_INDEX]).values() if count > 1)


class TokenFeed(Feed):
    def __init__(self, task: Any, worst_k: int) -> None:
        scheme = str(task.scheme).lower()
        super().__init__(task, make_evaluator("token-classification", tag_scheme=scheme, worst_k=worst_k))
        self.names = list(task.label_names or [])

    def extra_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        """The probability of each position's predicted tag (for the most confident errors), padded like the tags."""
        import torch

        probabilities = torch.softmax(outputs.logits.float(), dim=-1).max(dim=-1).values
        rows, width = probabilities.shape
        padded = torch.zeros((rows, self.task.max_length), dtype=torch.float32, device=probabilities.device)
        padded[:, :width] = probabilities
        return {"confidence": padded}

    def word_confidences(self, results: dict[str, Any], chunk: EncodedSplit) -> list[list[float]]:
        """Per word, the probability of its predicted tag, read where ``word_predictions`` reads the tag."""
        import numpy as np

        from bertkit.tasks.token_classification import EXAMPLE_INDEX, SCORED_POSITIONS, SCORED_WORDS, TOKENS

        columns = chunk.features.select_columns([EXAMPLE_INDEX, SCORED_POSITIONS, SCORED_WORDS]).to_dict()
        words = [np.zeros(len(tokens), dtype=np.float64) for tokens in chunk.examples[TOKENS]]
        confidence = np.asarray(results["confidence"])
        for row, feature in enumerate(np.asarray(results["feature_index"]).tolist()):
            positions = columns[SCORED_POSITIONS][feature]
            words[columns[EXAMPLE_INDEX][feature]][columns[SCORED_WORDS][feature]] = confidence[row, positions]
        return [w.tolist() for w in words]

    def add(self, results: dict[str, Any], chunk: EncodedSplit, offset: int) -> list[dict[str, Any]]:
        from bertkit.tasks.ner_scoring import tag_ids_of

        predicted = self.task.word_predictions(results, chunk)
        confidences = self.word_confidences(results, chunk)
        gold = tag_ids_of(chunk.examples, self.names, chunk.name)
        records = []
        for i, tokens in enumerate(chunk.examples["tokens"]):
            gold_tags = [self.names[t] for t in gold[i]]
            pred_tags = [self.names[t] for t in predicted[i]]
            self.evaluator.add(gold_tags, pred_tags, words=tokens, confidences=confidences[i], example_id=offset + i)
            records.append({"id": offset + i, "tokens": tokens, "gold": gold_tags, "pred": pred_tags})
        return records

    def truncation(self, split: EncodedSplit, tokenizer: Any) -> TruncationStats:
        from bertkit.tasks.token_classification import example_lengths

        return TruncationStats(
            n_examples=len(split.examples),
            examples_windowed=windowed_examples(split.features),
            windows=len(split.features),
            words_total=sum(len(tokens) for tokens in split.examples["tokens"]),
            words_truncated=0,
            tokens_total=int(sum(example_lengths(split.features))),
            tokens_truncated=0,
            max_length=self.task.max_length,
            stride=self.task.stride,
        )

    def details(self, split: EncodedSplit) -> dict[str, Any]:
        from bertkit.tasks.token_classification import SCORED_WORDS

        words = sum(len(tokens) for tokens in split.examples["tokens"])
        scored = sum(len(w) for w in split.features[SCORED_WORDS])
        return {"words_without_tokens": words - scored}  # predicted O and still scored


def sentence_tag_evaluator(labels: list[str]) -> Evaluator:
    """Plain tags (part of speech) scored per word like classes (accuracy, per-tag P/R/F1, confusion matrix), with
    the bootstrap resampling sentences: each sentence adds its own confusion counts as one statistics row."""
    from bertkit.evaluation.metrics.classification import ClassificationEvaluator
    from bertkit.evaluation.stats import CountRows

    class SentenceTagEvaluator(ClassificationEvaluator):
        task = "token-classification"

        def __init__(self) -> None:
            super().__init__(labels, worst_k=0)
            self.cells = [str(i) for i in range(len(labels) ** 2)]
            self.sentences = CountRows(self.cells)

        @property
        def n_examples(self) -> int:
            return self.sentences.n

        def add_sentence(self, gold: list[int], pred: list[int]) -> None:
            width = len(self.labels)
            counts = Counter(str(g * width + p) for g, p in zip(gold, pred, strict=True))
            self.sentences.add(counts)
            if gold:
                self.add_batch(gold, pred)

        def statistics(self) -> Any:
            return self.sentences.arrays(self.cells)

    return SentenceTagEvaluator()


class PlainTagFeed(TokenFeed):
    """Token classification with tags that name no entities (part of speech): scored per word, as the task does."""

    def __init__(self, task: Any, worst_k: int) -> None:
        Feed.__init__(self, task, sentence_tag_evaluator(list(task.label_names or [])))
        self.names = list(task.label_names or [])

    def extra_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        return {}

    def add(self, results: dict[str, Any], chunk: EncodedSplit, offset: int) -> list[dict[str, Any]]:
        from bertkit.tasks.ner_scoring import tag_ids_of

        predicted = self.task.word_predictions(results, chunk)
        gold = tag_ids_of(chunk.examples, self.names, chunk.name)
        records = []
        for i, tokens in enumerate(chunk.examples["tokens"]):
            self.evaluator.add_sentence(list(gold[i]), list(predicted[i]))
            tags = {"gold": [self.names[t] for t in gold[i]], "pred": [self.names[t] for t in predicted[i]]}
            records.append({"id": offset + i, "tokens": tokens, **tags})
        return records

    def details(self, split: EncodedSplit) -> dict[str, Any]:
        return {**super().details(split), "scoring": "per word (tags without entity prefixes)"}


class QaFeed(Feed):
    def __init__(self, task: Any, worst_k: int) -> None:
        super().__init__(task, make_evaluator("question-answering", version_2=task.with_negative, worst_k=worst_k))

    def add(self, results: dict[str, Any], chunk: EncodedSplit, offset: int) -> list[dict[str, Any]]:
        from bertkit.tasks.question_answering import prediction_text

        examples = chunk.examples
        count = len(examples)
        ids = [str(i) for i in examples["id"]] if "id" in examples.column_names else list(range(offset, offset + count))
        questions, contexts, answers = examples["question"], examples["context"], examples["answers"]
        records = []
        for i, best in enumerate(self.task.predict(results, chunk)):
            text = prediction_text(best)
            score = best.null_score if best.no_answer else (best.answers[0].score if best.answers else None)
            gold = [str(a) for a in answers[i]["text"]]
            exact, f1 = self.evaluator.add(
                text, gold, question_id=ids[i], question=questions[i], context=contexts[i], confidence=score
            )
            records.append(
                {
                    "id": ids[i],
                    "question": questions[i],
                    "gold": gold,
                    "pred": text,
                    "no_answer": bool(best.no_answer),
                    "score": None if score is None else round(float(score), 6),
                    "exact_match": exact,
                    "f1": round(f1, 6),
                }
            )
        return records

    def truncation(self, split: EncodedSplit, tokenizer: Any) -> TruncationStats:
        from bertkit.tasks.token_classification import example_lengths

        limit = int(self.task.spec.max_question_length)
        questions = [q.lstrip() for q in split.examples["question"]]
        cut = dropped = 0
        for begin in range(0, len(questions), QUESTION_CHUNK):
            encoded = tokenizer(questions[begin : begin + QUESTION_CHUNK], add_special_tokens=False, verbose=False)
            for ids in encoded["input_ids"]:
                cut += len(ids) > limit
                dropped += max(0, len(ids) - limit)
        return TruncationStats(
            n_examples=len(split.examples),
            examples_truncated=cut,
            examples_windowed=windowed_examples(split.features),
            windows=len(split.features),
            tokens_total=int(sum(example_lengths(split.features))) + dropped,
            tokens_truncated=dropped,
            max_length=self.task.max_length,
            stride=self.task.doc_stride,
        )

    def details(self, split: EncodedSplit) -> dict[str, Any]:
        return {"max_question_length": int(self.task.spec.max_question_length)}


class MlmFeed(Feed):
    def __init__(self, task: Any, worst_k: int) -> None:
        super().__init__(task, make_evaluator(task.task_type))

    def add(self, results: dict[str, Any], chunk: EncodedSplit, offset: int) -> list[dict[str, Any]]:
        loss_sum, n_masked, n_correct = in_order(results, "loss_sum", "n_masked", "n_correct")
        self.evaluator.add_batch(loss_sum.tolist(), n_masked.tolist(), n_correct.tolist())
        return []

    def truncation(self, split: EncodedSplit, tokenizer: Any) -> TruncationStats:
        num_tokens, length = length_columns(split.features)
        return TruncationStats(
            n_examples=len(split.features),
            examples_truncated=int((num_tokens > length).sum()),
            tokens_total=int(num_tokens.sum()),
            tokens_truncated=int((num_tokens - length).sum()),
            max_length=self.task.max_length,
        )

    def details(self, split: EncodedSplit) -> dict[str, Any]:
        return {"masking_seed": int(getattr(self.task, "seed", 0)), "mlm_probability": self.task.spec.mlm_probability}


FEEDS = {
    "text-classification": ClassificationFeed,
    "token-classification": TokenFeed,
    "question-answering": QaFeed,
    "masked-lm": MlmFeed,
    "pretraining": MlmFeed,
}


def make_feed(task: Task, *, worst_k: int = 10) -> Feed:
    if getattr(task, "plain_tags", False):
        return PlainTagFeed(task, worst_k)
    return FEEDS[task.task_type](task, worst_k)
