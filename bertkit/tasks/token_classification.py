"""Token classification (NER, POS tagging): one tag per word, scored per word, long sentences in windows.

Fields (after ``data.columns`` mapping): ``tokens`` (the words) and ``tags`` (one per word: ClassLabel ids from
the data layer, or tag names). Every sentence is tokenized once and cut into windows of at most
``task.max_length`` tokens that overlap by ``task.stride`` (:func:`bertkit.tasks.windows.token_windows`, the code
``bertkit ner`` runs), so nothing is ever cut off.

Training labels sit on the first subword of each word (``task.label_all_subwords``: on every subword, with B-X
turned into I-X after the first, as run_ner.py does). Evaluation labels sit only on the first subword of each word
in the one window that *owns* it, so every word is scored exactly once; predictions are mapped back to words and
scored at entity level (seqeval's default mode) plus word accuracy. Words the tokenizer drops (no tokens) are
predicted ``O`` and still scored. The saved config has real tag names and a ``bertkit`` entry with the scheme.
"""

from __future__ import annotations

from collections import Counter
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
from bertkit.tasks.entities import detect_scheme, split_tag
from bertkit.tasks.ner_scoring import entity_scores, locate_sentence, tag_ids_of
from bertkit.tasks.windows import IGNORE_INDEX, align_word_labels, special_template, token_windows, tokenize_texts

TOKENS, TAGS = "tokens", "tags"
EXAMPLE_INDEX = "example_index"  # the sentence a window was cut from
SCORED_POSITIONS = "scored_positions"  # evaluation: window positions scored (a word's first subword, owned)
SCORED_WORDS = "scored_words"  # evaluation: the word index of each scored position
SCHEME_NAMES = {"iob1": "IOB2", "iob2": "IOB2", "bioes": "BIOES"}  # iob1 data is converted to IOB2 when read


class TokenClassificationTask(Task):
    task_type: ClassVar[str] = "token-classification"
    auto_model_class: ClassVar[str] = "AutoModelForTokenClassification"
    default_metric: str = "f1"
    needs_fast_tokenizer: ClassVar[bool] = True
    head_reads: ClassVar[str] = "labeled"
    length_chunks: ClassVar[int] = 2  # CoNLL-2003: 4 chunks are ~5% slower, no better in F1 (training/sampling.py)

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.stride = int(spec.stride)
        self.label_all_subwords = bool(spec.label_all_subwords)
        self.scheme = SCHEME_NAMES[spec.tag_scheme]
        self.continuation: list[int] = []  # tag id -> the id its continuation subwords get (B-X -> I-X)
        self.plain_tags = False  # tags without entity prefixes (part of speech): accuracy only
        self.labeled_per_feature: float | None = None  # training loss per token: mean labeled positions per window

    # ------------------------------------------------------------------------------------------------ data
    def setup(self, splits: Any) -> list[str]:
        from bertkit.tasks.classification import class_names_of, show_labels

        train = splits.train
        require_columns(train, "train", [TOKENS, TAGS], self.task_type)
        names = self.spec.labels or getattr(splits, "label_names", None) or class_names_of(train.features[TAGS])
        if not names:
            from bertkit.data.labels import sorted_tags

            names = sorted_tags(str(t) for tags in train[TAGS] for t in tags)
        self.label_names = [str(n) for n in names]
        self.check_scheme()
        if not self.spec.labels:
            self.check_eval_tags(splits)
        self.continuation = continuation_ids(self.label_names)
        if self.plain_tags:
            return [
                f"{len(self.label_names)} tags without entity prefixes (scored by word accuracy): {show_labels(names)}"
            ]
        types = self.entity_types()
        return [f"{len(self.label_names)} tags ({self.scheme}, {len(types)} entity types): {show_labels(names)}"]

    def check_scheme(self) -> None:
        """Entity tags (B-/I-, E-/S-) are scored per entity; plain tags (part of speech) by word accuracy."""
        from bertkit.tasks.classification import show_labels

        prefixed = [n for n in self.label_names or [] if n != "O" and split_tag(n)[0]]
        plain = [n for n in self.label_names or [] if n != "O" and not split_tag(n)[0]]
        if prefixed and plain:
            raise DataError(
                f"the tags mix entity tags ({prefixed[0]}) and tags without a B-/I- prefix ({plain[0]})",
                hint="Give every tag but O a prefix (B-/I-, or E-/S- with task.tag_scheme: bioes), or none at all "
                "(part-of-speech style tags, scored by accuracy).",
            )
        self.plain_tags = bool(plain)
        if self.plain_tags:
            self.default_metric = "accuracy"
        if detect_scheme(self.label_names or []) == "BIOES" and self.scheme != "BIOES":
            raise RecipeError(
                f"the tags use E-/S- (or L-/U-) prefixes ({show_labels(self.label_names or [])}) but "
                f"task.tag_scheme is {self.spec.tag_scheme}",
                hint="Set task.tag_scheme: bioes.",
            )

    def check_eval_tags(self, splits: Any) -> None:
        """A tag in validation/test data that training never shows is a typo or a data mix-up: stop early."""
        known = {self.label_names[i] for tags in tag_ids_of(splits.train, self.label_names, "train") for i in tags}
        for split in ("validation", "test"):
            dataset = getattr(splits, split, None)
            if dataset is None:
                continue
            for row, tags in enumerate(tag_ids_of(dataset, self.label_names, split)):
                unknown = [self.label_names[i] for i in tags if self.label_names[i] not in known]
                if unknown:
                    where = locate_sentence(splits, split, row, dataset[row][TOKENS])
                    raise DataError(
                        f"{split} split, {where}: tag '{unknown[0]}' does not occur in the training data "
                        f"(training tags: {', '.join(sorted(known))})",
                        hint="Fix the tag, or list every tag in task.labels to keep it as a class the model never "
                        "sees in training.",
                    )

    def encode(self, dataset: Any, tokenizer: Any, split: str) -> Any:
        require_columns(dataset, split, [TOKENS, TAGS], self.task_type)
        tag_ids = tag_ids_of(dataset, self.label_names or [], split)
        evaluating = split != "train"
        specials = special_template(tokenizer).size

        def encode_batch(batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
            tokenized = tokenize_texts(tokenizer, batch[TOKENS], is_split_into_words=True)
            windows = token_windows(tokenized, tokenizer, max_length=self.max_length, stride=self.stride)
            out: dict[str, list[Any]] = {k: [] for k in self.feature_columns(evaluating)}
            for window in windows:
                example = indices[window.example_index]
                labels = self.window_labels(window, tag_ids[example], evaluating)
                out["input_ids"].append(window.input_ids)
                out["token_type_ids"].append(window.token_type_ids)
                out["labels"].append(labels)
                out[EXAMPLE_INDEX].append(example)
                out[LENGTH].append(len(window.input_ids))
                out[NUM_TOKENS].append(len(tokenized[window.example_index]) + specials)
                if evaluating:
                    scored = [p for p, label in enumerate(labels) if label != IGNORE_INDEX]
                    out[SCORED_POSITIONS].append(scored)
                    out[SCORED_WORDS].append([window.word_ids[p] for p in scored])
            return out

        return dataset.map(
            encode_batch,
            batched=True,
            with_indices=True,
            remove_columns=dataset.column_names,
            desc=f"Tokenizing {split}",
        )

    @staticmethod
    def feature_columns(evaluating: bool) -> list[str]:
        columns = ["input_ids", "token_type_ids", "labels", EXAMPLE_INDEX, LENGTH, NUM_TOKENS]
        return columns + ([SCORED_POSITIONS, SCORED_WORDS] if evaluating else [])

    def window_labels(self, window: Any, word_tags: Sequence[int], evaluating: bool) -> list[int]:
        if evaluating:  # scoring labels: first subword of each word, in the window that owns it
            return align_word_labels(window, word_tags, owned_only=True)
        labels = align_word_labels(window, word_tags, label_all_subwords=self.label_all_subwords)
        if self.label_all_subwords:
            labels = [
                self.continuation[label] if label != IGNORE_INDEX and not window.word_start[pos] else label
                for pos, label in enumerate(labels)
            ]
        return labels

    def prepare(self, splits: Any, tokenizer: Any) -> dict[str, EncodedSplit]:
        encoded = super().prepare(splits, tokenizer)
        self.prepare_notes = []
        train = encoded.get("train")
        if train is not None and self.spec.token_weighted_loss and len(train.features):
            self.labeled_per_feature = max(labeled_positions(train.features) / len(train.features), 1e-9)
        for name, split in encoded.items():
            stats = split.stats
            if stats.features > stats.examples:
                longer = sum(1 for n in example_lengths(split.features) if n > self.max_length)
                self.prepare_notes.append(
                    f"{name}: {longer} of {stats.examples} sentences are longer than task.max_length="
                    f"{self.max_length} tokens: split into overlapping windows (task.stride={self.stride}), "
                    f"{stats.features} windows in all; nothing is cut"
                )
            if name != "train":
                words = sum(len(tokens) for tokens in split.examples[TOKENS])
                missing = words - sum(len(w) for w in split.features[SCORED_WORDS])
                if missing:
                    self.prepare_notes.append(
                        f"{name}: {missing} word(s) have no tokens (the tokenizer drops them): "
                        "predicted O, still scored"
                    )
        return encoded

    def split_stats(self, examples: Any, features: Any) -> SplitStats:
        """Per sentence (not per window); nothing is truncated: long sentences become several windows."""
        stats = token_length_stats(example_lengths(features), self.max_length, features=len(features))
        stats.truncated = 0
        return stats

    def label_distribution(self, split: EncodedSplit) -> dict[str, int] | None:
        """Words per tag."""
        names = self.label_names or []
        counts = Counter(i for tags in tag_ids_of(split.examples, names, split.name) for i in tags)
        return {name: int(counts.get(i, 0)) for i, name in enumerate(names)}

    # ----------------------------------------------------------------------------------------------- model
    def model_config_updates(self) -> dict[str, Any]:
        names = self.label_names or []
        return {
            "num_labels": len(names),
            "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)},
            "bertkit": {
                "task": self.task_type,
                "tag_scheme": None if self.plain_tags else self.scheme,
                "label_all_subwords": self.label_all_subwords,
                "max_length": self.max_length,
                "stride": self.stride,
            },
        }

    def collate(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        batch = super().collate(features)
        batch["labels"] = pad_rows(batch["labels"], batch["input_ids"].shape[1], IGNORE_INDEX)
        return batch

    def collate_labels(self, labels: list[Any]) -> Any:
        return labels  # padded in collate, to the batch's width

    def training_loss(self, model: Any, batch: dict[str, Any]) -> Any:
        """With token_weighted_loss: the batch's summed token losses over (windows x mean labeled tokens per
        window): on average the model's per-batch mean, but a token in a batch of short sentences no longer
        counts more than one in a batch of long ones (CoNLL-2003, bench/ner.py, one epoch with 2 length chunks
        joined at random: 79.84 test F1 against 79.70 with the batch mean over six seeds, within noise). With the
        speed-ups the model's layers skip the padding and its last layer computes only the labeled positions (the
        loss reads no other)."""
        import torch.nn.functional as F

        from bertkit.modeling.packing import packed_tokens

        labels = batch["labels"]
        with packed_tokens(model, batch.get("attention_mask"), labels, IGNORE_INDEX):
            if self.labeled_per_feature is None:
                return super().training_loss(model, batch)
            logits = model(**{k: v for k, v in self.forward_inputs(batch).items() if k != "labels"}).logits
        total = F.cross_entropy(
            logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        return total / (labels.shape[0] * self.labeled_per_feature)

    # ------------------------------------------------------------------------------------------ evaluation
    def eval_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        """Tag ids per position, padded to max_length so batches and processes concatenate (int32: gloo, the CPU
        multi-process backend, cannot gather int16)."""
        import torch

        predicted = outputs.logits.argmax(dim=-1).to(torch.int32)
        rows, width = predicted.shape
        padded = torch.full((rows, self.max_length), IGNORE_INDEX, dtype=torch.int32, device=predicted.device)
        padded[:, :width] = predicted
        return {"predictions": padded, "feature_index": batch[FEATURE_INDEX]}

    def word_predictions(self, results: dict[str, Any], split: EncodedSplit) -> list[list[int]]:
        """Tag ids per word of every example, from the owned first subwords (words with no tokens: O)."""
        import numpy as np

        columns = split.features.select_columns([EXAMPLE_INDEX, SCORED_POSITIONS, SCORED_WORDS]).to_dict()
        outside = self.label_names.index("O") if "O" in (self.label_names or []) else 0
        words = [np.full(len(tokens), outside, dtype=np.int64) for tokens in split.examples[TOKENS]]
        predictions = np.asarray(results["predictions"])
        for row, feature in enumerate(np.asarray(results["feature_index"]).tolist()):
            positions = columns[SCORED_POSITIONS][feature]
            words[columns[EXAMPLE_INDEX][feature]][columns[SCORED_WORDS][feature]] = predictions[row, positions]
        return [w.tolist() for w in words]

    def compute_metrics(self, results: dict[str, Any], split: EncodedSplit) -> dict[str, float]:
        names = self.label_names or []
        gold = [[names[i] for i in tags] for tags in tag_ids_of(split.examples, names, split.name)]
        predicted = [[names[i] for i in tags] for tags in self.word_predictions(results, split)]
        if self.plain_tags:
            return {"accuracy": entity_scores(gold, predicted, scheme=self.scheme)["accuracy"]}
        return entity_scores(gold, predicted, scheme=self.scheme, types=self.entity_types())

    def entity_types(self) -> list[str]:
        if self.plain_tags:
            return []
        return sorted({split_tag(n)[1] for n in self.label_names or []} - {""})

    def metric_names(self) -> list[str]:
        if self.plain_tags:
            return ["accuracy"]
        return ["precision", "recall", "f1", "accuracy", *(f"f1_{t}" for t in self.entity_types())]

    def postprocess(self, results: dict[str, Any], split: EncodedSplit) -> list[dict[str, Any]]:
        from bertkit.tasks.entities import tags_to_spans

        names = self.label_names or []
        rows = []
        for tokens, tags in zip(split.examples[TOKENS], self.word_predictions(results, split), strict=True):
            tag_names = [names[i] for i in tags]
            entities = [
                {"type": s.type, "start": s.start, "end": s.end, "text": " ".join(tokens[s.start : s.end])}
                for s in tags_to_spans(tag_names, scheme=self.scheme)
            ]
            rows.append({"tokens": list(tokens), "tags": tag_names, "entities": entities})
        return rows


def example_lengths(features: Any) -> list[int]:
    """Tokens (with special tokens) of each example, read from its first window."""
    lengths: dict[int, int] = {}
    for example, tokens in zip(features[EXAMPLE_INDEX], features[NUM_TOKENS], strict=True):
        lengths.setdefault(example, tokens)
    return list(lengths.values())


def continuation_ids(names: Sequence[str]) -> list[int]:
    """For each tag id, the tag a word's later subwords get: I-X for B-X (when I-X exists), else the tag itself."""
    ids = {name: i for i, name in enumerate(names)}
    result = []
    for i, name in enumerate(names):
        prefix, kind = split_tag(name)
        inside = next((ids[f"I{sep}{kind}"] for sep in "-_" if f"I{sep}{kind}" in ids), i) if prefix == "B" else i
        result.append(inside)
    return result


def labeled_positions(features: Any) -> int:
    """Positions with a label (not IGNORE_INDEX) in the ``labels`` column of encoded features."""
    import pyarrow.compute as pc

    values = pc.list_flatten(features.data.column("labels"))
    return int(pc.sum(pc.not_equal(values, IGNORE_INDEX)).as_py() or 0)
