"""``load_splits``: the train/validation/test datasets of a recipe, in the task's canonical fields.

Order of work: find the sources, read them, map and check the columns, encode labels (so errors cite the file
line), then hold out a validation split when there is none, then apply max_train_samples / max_eval_samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bertkit.data.columns import map_columns, normalize
from bertkit.data.encode import apply_labels
from bertkit.data.hub import HubDataset, load_hub, pick_split
from bertkit.data.readers import RawTable, read_local
from bertkit.data.sources import ROLES, VALIDATION_NAMES, SourcePlan, plan_sources
from bertkit.errors import DataError


@dataclass
class DataSplits:
    """The splits of a recipe's data (None when not requested or not available) and what was done to them.

    Fields per task: text-classification ``text``, ``text_pair`` (optional), ``label`` (ClassLabel id; list of
    ids for multi_label; float for regression); token-classification ``tokens`` (list[str]), ``tags`` (list of
    ClassLabel ids); question-answering ``id``, ``question``, ``context``, ``answers`` {text, answer_start};
    masked-lm ``text``; pretraining ``text``, ``document`` (int id).
    """

    train: Any  # datasets.Dataset | None
    validation: Any
    test: Any
    label_names: list[str] | None
    """Class names in id order (classification and NER); None for the other tasks and regression."""
    fingerprints: dict[str, str]
    """split -> sha256 of its file, or the hub dataset fingerprint (a held-out split: train's, plus the seed)."""
    notes: list[str]
    """What was inferred or changed, e.g. 'validation: 10% of train held out (seed 42)'."""
    sources: dict[str, str] = field(default_factory=dict)
    """split -> where it was read from (file path, or hub id and split)."""


def load_splits(recipe: Any, *, splits: tuple[str, ...] | list[str] = ROLES) -> DataSplits:
    """Load the requested splits of ``recipe.data`` for ``recipe.task``. Raises ``DataError``."""
    unknown = [s for s in splits if s not in ROLES]
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; use {ROLES}")
    data, task = recipe.data, recipe.task
    roles = tuple(role for role in ROLES if role in splits)
    plan = plan_sources(data, tuple(dict.fromkeys((*roles, "train"))) if "validation" in roles else roles)
    tables = read_tables(plan, data, task.type, roles)
    carve = "validation" in roles and "validation" not in tables
    notes: list[str] = []
    for split, table in tables.items():
        notes += table.notes
        notes += map_columns(table, task.type, data.columns, split)
        notes += normalize(table, task, split)
    label_names, label_notes = apply_labels(tables, task)
    notes += label_notes
    for split, table in tables.items():
        if len(table.dataset) == 0:
            raise DataError(f"the {split} split ({table.source}) has no examples", hint="Check the file or split.")
    result = DataSplits(
        train=None,
        validation=None,
        test=None,
        label_names=label_names,
        fingerprints={split: table.fingerprint for split, table in tables.items()},
        notes=notes,
        sources={split: table.source for split, table in tables.items()},
    )
    for split, table in tables.items():
        setattr(result, split, table.dataset)
    if carve:
        hold_out_validation(result, data.validation_size, recipe.training.seed, task.type)
    if "train" not in roles:  # read only to hold out validation
        result.train = None
        result.fingerprints.pop("train", None)
        result.sources.pop("train", None)
    limit_samples(result, data, recipe.training.seed)
    result.notes = list(dict.fromkeys(result.notes))
    return result


def read_tables(plan: SourcePlan, data: Any, task: str, roles: tuple[str, ...]) -> dict[str, RawTable]:
    tables = {role: read_local(path, data.format, task, data.conll) for role, path in plan.files.items()}
    if plan.hub is not None and plan.hub_splits:
        loaded = load_hub(plan.hub)
        for role, name in plan.hub_splits.items():
            table = hub_table(loaded, plan.hub, role, name, data)
            if table is not None:
                tables[role] = table
    needs_train = "train" in roles or ("validation" in roles and "validation" not in tables)
    if needs_train and "train" not in tables:
        raise DataError("no training data found", hint="Set data.dataset or data.train_file.")
    if "validation" in roles and "validation" not in tables and data.validation_split not in (None, "validation"):
        where = plan.folder or plan.hub or "the data"
        raise DataError(
            f"validation split '{data.validation_split}' not found in {where}",
            hint="Set data.validation_split to an existing split, or to null to hold out part of train.",
        )
    if "test" in roles and (data.test_split or data.test_file) and "test" not in tables:
        raise DataError(
            f"test split '{data.test_split}' not found in {plan.folder or plan.hub}",
            hint=f"Name the file {data.test_split}.* or set data.test_file (or data.test_split: null).",
        )
    ordered = {role: tables[role] for role in ROLES if role in tables}
    return {role: t for role, t in ordered.items() if role in roles or role == "train"}


def hub_table(loaded: Any, ref: HubDataset, role: str, name: str, data: Any) -> RawTable | None:
    candidates = (name,)
    if role == "validation" and name == "validation":
        candidates = VALIDATION_NAMES
    for candidate in candidates:
        if candidate in loaded:
            dataset = loaded[candidate]
            return RawTable(dataset, f"{ref} [{candidate}]", getattr(dataset, "_fingerprint", "") or "")
    if role == "validation":
        return None  # held out from train, or reported by read_tables
    key = {"train": "data.train_split", "test": "data.test_split"}[role]
    pick_split(loaded, ref, name, key)  # raises, listing the available splits
    return None


# Rows that belong together stay on one side of a held-out split: sentences of a document (NSP pairs are drawn
# within documents) and questions on one context (else validation contexts would be seen in training).
HOLDOUT_GROUPS = {"pretraining": "document", "question-answering": "context"}


def hold_out_validation(result: DataSplits, size: float, seed: int, task_type: str) -> None:
    train = result.train
    held = round(len(train) * size)
    if held < 1 or held >= len(train):
        raise DataError(
            f"cannot hold out {size:.0%} of {len(train)} training examples for validation",
            hint="Provide a validation split (data.validation_split / data.validation_file) or more training data.",
        )
    group = HOLDOUT_GROUPS.get(task_type)
    if group:
        train_rows, validation_rows, groups = grouped_holdout(list(train[group]), held, seed)
        result.train, result.validation = train.select(train_rows), train.select(validation_rows)
        how = f" by {group} ({groups} {group}s)"
    else:
        parts = train.train_test_split(test_size=held, seed=seed, shuffle=True)
        result.train, result.validation = parts["train"], parts["test"]
        how = ""
    result.fingerprints["validation"] = f"{result.fingerprints['train']}+holdout({size},seed={seed})"
    result.sources["validation"] = f"{result.sources['train']} (held out)"
    result.notes.append(
        f"validation: {size:.0%} of train held out{how} (seed {seed}): {len(result.validation)} examples, "
        f"{len(result.train)} left to train"
    )


def grouped_holdout(keys: list[Any], target: int, seed: int) -> tuple[list[int], list[int], int]:
    """Whole groups (seeded random order) until at least ``target`` rows are held out; row order is kept."""
    import random

    rows_of: dict[Any, list[int]] = {}
    for row, key in enumerate(keys):
        rows_of.setdefault(key, []).append(row)
    order = list(rows_of)
    random.Random(seed).shuffle(order)
    held: set[int] = set()
    chosen = 0
    for key in order:
        if len(held) >= target or len(rows_of) - chosen <= 1:
            break
        held.update(rows_of[key])
        chosen += 1
    validation = sorted(held)
    return [row for row in range(len(keys)) if row not in held], validation, chosen


def limit_samples(result: DataSplits, data: Any, seed: int) -> None:
    if data.max_train_samples and result.train is not None and len(result.train) > data.max_train_samples:
        total = len(result.train)
        result.train = result.train.shuffle(seed=seed).select(range(data.max_train_samples))
        result.notes.append(f"train: {data.max_train_samples} of {total} examples (max_train_samples, seed {seed})")
    for split in ("validation", "test"):
        dataset = getattr(result, split)
        if data.max_eval_samples and dataset is not None and len(dataset) > data.max_eval_samples:
            setattr(result, split, dataset.select(range(data.max_eval_samples)))
            result.notes.append(f"{split}: first {data.max_eval_samples} of {len(dataset)} examples (max_eval_samples)")
