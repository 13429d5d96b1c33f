"""Text classification: single texts or sentence pairs; single-label, multi-label or regression.

Fields (after ``data.columns`` mapping): ``text``, optional ``text_pair``, ``label``. The saved model carries the
real class names in ``id2label``/``label2id``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from bertkit.errors import DataError
from bertkit.tasks.base import LENGTH, NUM_TOKENS, EncodedSplit, Task, require_columns

TEXT, TEXT_PAIR, LABEL = "text", "text_pair", "label"
MAX_SHOWN = 12


def show_labels(labels: list[str]) -> str:
    shown = ", ".join(labels[:MAX_SHOWN])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > MAX_SHOWN else "")


def class_names_of(feature: Any) -> list[str] | None:
    """ClassLabel names of a label column (or of the items of a list column), else None."""
    inner = getattr(feature, "feature", None)
    names = getattr(feature, "names", None) or getattr(inner, "names", None)
    return [str(n) for n in names] if names else None


class TextClassificationTask(Task):
    task_type: ClassVar[str] = "text-classification"
    auto_model_class: ClassVar[str] = "AutoModelForSequenceClassification"
    head_reads: ClassVar[str] = "first"
    default_metric: str = "accuracy"

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        self.problem_type = spec.problem_type
        self.default_metric = {"regression": "mse", "multi_label": "micro_f1"}.get(self.problem_type, "accuracy")
        self.has_pairs = False
        self.class_label_names: list[str] | None = None  # ClassLabel names of the raw column, when it has them

    # ------------------------------------------------------------------------------------------------ data
    def setup(self, splits: Any) -> list[str]:
        train = splits.train
        require_columns(train, "train", [TEXT, LABEL], self.task_type)
        self.has_pairs = TEXT_PAIR in train.column_names
        self.class_label_names = class_names_of(train.features[LABEL])
        if self.problem_type == "regression":
            self.label_names = None
            return []
        if self.spec.labels:
            self.label_names = [str(x) for x in self.spec.labels]
        elif getattr(splits, "label_names", None):
            self.label_names = [str(x) for x in splits.label_names]
        elif self.class_label_names:
            self.label_names = list(self.class_label_names)
        else:
            self.label_names = self.distinct_labels(train)
        if len(self.label_names) < 2 and self.problem_type == "single_label":
            raise DataError(
                f"the train split has only one label ({show_labels(self.label_names)}): nothing to classify",
                hint="Check data.columns.label, or list the classes in task.labels.",
            )
        if getattr(splits, "label_names", None) and not self.spec.labels:
            return []  # the data layer already said where the labels came from
        return [f"{len(self.label_names)} labels: {show_labels(self.label_names)}"]

    def distinct_labels(self, train: Any) -> list[str]:
        values = train[LABEL]
        if self.problem_type == "multi_label":
            values = [v for row in values if row is not None for v in row]
        distinct = {v for v in values if v is not None}
        if all(isinstance(v, (int, bool)) for v in distinct):
            return [str(v) for v in sorted(distinct)]
        return sorted(str(v) for v in distinct)

    def encode(self, dataset: Any, tokenizer: Any, split: str) -> Any:
        require_columns(dataset, split, [TEXT, LABEL], self.task_type)
        if self.has_pairs:
            require_columns(dataset, split, [TEXT_PAIR], self.task_type)
        label_of = self.label_encoder(dataset, split)
        keep = set(self.model_inputs) - {"attention_mask"}

        def encode_batch(batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
            texts = [self.check_text(t, split, i, TEXT) for t, i in zip(batch[TEXT], indices, strict=True)]
            pairs = None
            if self.has_pairs:
                pairs = [
                    self.check_text(t, split, i, TEXT_PAIR) for t, i in zip(batch[TEXT_PAIR], indices, strict=True)
                ]
            full = tokenizer(texts, pairs, truncation=False, return_attention_mask=False)
            out = tokenizer(texts, pairs, truncation=True, max_length=self.max_length, return_attention_mask=False)
            features = {k: v for k, v in out.items() if k in keep}
            features["labels"] = [label_of(v, split, i) for v, i in zip(batch[LABEL], indices, strict=True)]
            features[LENGTH] = [len(ids) for ids in out["input_ids"]]
            features[NUM_TOKENS] = [len(ids) for ids in full["input_ids"]]
            return features

        return dataset.map(
            encode_batch,
            batched=True,
            with_indices=True,
            remove_columns=dataset.column_names,
            desc=f"Tokenizing {split}",
        )

    @staticmethod
    def check_text(value: Any, split: str, index: int, column: str) -> str:
        if isinstance(value, str):
            return value
        if value is None:
            raise DataError(
                f"{split} split, row {index + 1}: the {column!r} field is empty",
                hint="Remove rows without text, or check data.columns.",
            )
        raise DataError(f"{split} split, row {index + 1}: the {column!r} field is not text ({type(value).__name__})")

    def label_encoder(self, dataset: Any, split: str):
        """A function raw label -> training target, with errors naming the split, the row and the known labels."""
        if self.problem_type == "regression":
            return self.regression_target
        names = self.label_names or []
        ids = {name: i for i, name in enumerate(names)}
        column_names = class_names_of(dataset.features[LABEL])
        index_ok = column_names is None and not any(name.lstrip("-").isdigit() for name in names)

        def one(value: Any, row: int) -> int:
            if column_names is not None and isinstance(value, int) and 0 <= value < len(column_names):
                value = column_names[value]  # a ClassLabel id: look its name up in our label list
            key = str(value)
            if key in ids:
                return ids[key]
            if isinstance(value, int) and index_ok and 0 <= value < len(names):
                return value  # integer ids against named labels (task.labels: [negative, positive])
            raise DataError(
                f"{split} split, row {row + 1}: label {value!r} is not one of the {len(names)} labels "
                f"({show_labels(names)})",
                hint="Add it to task.labels, fix the data, or check that data.columns.label names the label column.",
            )

        def encode(value: Any, split_name: str, row: int) -> Any:
            if value is None:
                raise DataError(f"{split_name} split, row {row + 1}: the label is missing")
            if self.problem_type == "multi_label":
                items = value if isinstance(value, (list, tuple)) else [value]
                hot = [0.0] * len(names)
                for item in items:
                    hot[one(item, row)] = 1.0
                return hot
            return one(value, row)

        return encode

    @staticmethod
    def regression_target(value: Any, split: str, row: int) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise DataError(
                f"{split} split, row {row + 1}: label {value!r} is not a number (task.problem_type is regression)"
            ) from None

    def label_distribution(self, split: EncodedSplit) -> dict[str, int] | None:
        if self.problem_type == "regression" or not self.label_names:
            return None
        labels = split.features["labels"]
        counts: Counter[int] = Counter()
        if self.problem_type == "multi_label":
            for row in labels:
                counts.update(i for i, v in enumerate(row) if v)
        else:
            counts.update(labels)
        return {name: int(counts.get(i, 0)) for i, name in enumerate(self.label_names)}

    # ----------------------------------------------------------------------------------------------- model
    def model_config_updates(self) -> dict[str, Any]:
        if self.problem_type == "regression":
            return {"num_labels": 1, "problem_type": "regression", "id2label": {0: "score"}, "label2id": {"score": 0}}
        names = self.label_names or []
        return {
            "num_labels": len(names),
            "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)},
            "problem_type": "multi_label_classification"
            if self.problem_type == "multi_label"
            else "single_label_classification",
        }

    def collate_labels(self, labels: list[Any]) -> Any:
        import torch

        dtype = torch.long if self.problem_type == "single_label" else torch.float
        return torch.tensor(labels, dtype=dtype)

    # ------------------------------------------------------------------------------------------ evaluation
    def eval_reduce(self, outputs: Any, batch: dict[str, Any]) -> dict[str, Any]:
        import torch

        logits = outputs.logits.float()
        if self.problem_type == "regression":
            predictions = logits.squeeze(-1)
            confidence = torch.zeros_like(predictions)
        elif self.problem_type == "multi_label":
            probs = torch.sigmoid(logits)
            predictions = (probs > 0.5).to(torch.int8)
            confidence = probs.max(dim=-1).values
        else:
            probs = torch.softmax(logits, dim=-1)
            confidence, predictions = probs.max(dim=-1)
        return {
            "predictions": predictions,
            "labels": batch["labels"],
            "confidence": confidence,
            "feature_index": batch["feature_index"],
        }

    def compute_metrics(self, results: dict[str, Any], split: EncodedSplit) -> dict[str, float]:
        predictions, labels = results["predictions"], results["labels"]
        if self.problem_type == "regression":
            return regression_metrics(predictions, labels)
        if self.problem_type == "multi_label":
            return multi_label_metrics(predictions, labels)
        return single_label_metrics(predictions, labels, len(self.label_names or []))

    def metric_names(self) -> list[str]:
        return {
            "regression": ["mse", "mae", "pearson", "spearman"],
            "multi_label": ["subset_accuracy", "micro_f1", "macro_f1"],
        }.get(self.problem_type, ["accuracy", "macro_f1"])

    def postprocess(self, results: dict[str, Any], split: EncodedSplit) -> list[dict[str, Any]]:
        import numpy as np

        order = np.argsort(results["feature_index"], kind="stable")
        names = self.label_names or []
        rows = []
        for i in order:
            pred = results["predictions"][i]
            if self.problem_type == "regression":
                label: Any = float(pred)
            elif self.problem_type == "multi_label":
                label = [names[j] for j in np.flatnonzero(pred)]
            else:
                label = names[int(pred)]
            rows.append({"label": label, "score": float(results["confidence"][i])})
        return rows


def f1_scores(tp: Any, fp: Any, fn: Any) -> Any:
    import numpy as np

    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros(len(tp), dtype=float), where=denominator > 0)


def single_label_metrics(predictions: Any, labels: Any, num_labels: int) -> dict[str, float]:
    import numpy as np

    predictions, labels = np.asarray(predictions), np.asarray(labels)
    classes = np.arange(num_labels)[:, None]
    tp = ((predictions == classes) & (labels == classes)).sum(axis=1)
    fp = ((predictions == classes) & (labels != classes)).sum(axis=1)
    fn = ((predictions != classes) & (labels == classes)).sum(axis=1)
    present = (tp + fn + fp) > 0  # classes in the gold labels or the predictions, as scikit-learn averages
    macro = float(f1_scores(tp, fp, fn)[present].mean()) if present.any() else 0.0
    return {"accuracy": float((predictions == labels).mean()), "macro_f1": macro}


def multi_label_metrics(predictions: Any, labels: Any) -> dict[str, float]:
    import numpy as np

    predictions, labels = np.asarray(predictions).astype(bool), np.asarray(labels).astype(bool)
    tp, fp, fn = ((predictions & labels).sum(0), (predictions & ~labels).sum(0), (~predictions & labels).sum(0))
    micro = f1_scores(np.array([tp.sum()]), np.array([fp.sum()]), np.array([fn.sum()]))[0]
    return {
        "subset_accuracy": float((predictions == labels).all(axis=1).mean()),
        "micro_f1": float(micro),
        "macro_f1": float(f1_scores(tp, fp, fn).mean()),
    }


def regression_metrics(predictions: Any, labels: Any) -> dict[str, float]:
    import numpy as np

    predictions, labels = np.asarray(predictions, dtype=float), np.asarray(labels, dtype=float)
    error = predictions - labels

    def correlation(a: Any, b: Any) -> float:
        if a.std() == 0 or b.std() == 0:
            return 0.0
        return float(np.corrcoef(a, b)[0, 1])

    def ranks(x: Any) -> Any:
        return np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)

    return {
        "mse": float((error**2).mean()),
        "mae": float(np.abs(error).mean()),
        "pearson": correlation(predictions, labels),
        "spearman": correlation(ranks(predictions), ranks(labels)),
    }
