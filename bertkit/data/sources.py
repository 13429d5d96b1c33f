"""Where each split comes from: explicit files, a local folder (split files found by name), a single file,
a dataset shipped with bertkit (``builtin:NAME``), or a hub dataset."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bertkit.data.hub import HubDataset
from bertkit.data.readers import FORMAT_BY_SUFFIX
from bertkit.errors import DataError

ROLES = ("train", "validation", "test")
VALIDATION_NAMES = ("validation", "dev", "valid", "val")
BUILTIN_PREFIX = "builtin:"
EXPLICIT_KEYS = {"train": "train_file", "validation": "validation_file", "test": "test_file"}


@dataclass
class SourcePlan:
    """Local files per split (``files``) and/or a hub dataset with the split name wanted per role (``hub_splits``)."""

    files: dict[str, Path] = field(default_factory=dict)
    hub: HubDataset | None = None
    hub_splits: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None


def builtin_datasets_root() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "datasets"


def resolve_builtin(name: str, root: Path | None = None) -> Path:
    """``builtin:NAME`` -> the dataset folder shipped inside the package."""
    root = root or builtin_datasets_root()
    folder = root / name
    if name and "/" not in name and folder.is_dir():
        return folder
    available = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    raise DataError(
        f"no built-in dataset '{name}' (built-in datasets: {', '.join(available) or 'none installed'})",
        hint="Use data.dataset: builtin:NAME with one of those names, a local folder, or a hub id.",
    )


def looks_local(value: str) -> bool:
    suffix = Path(value).suffix.lower()
    return (
        value.startswith((".", "/", "~"))
        or value.count("/") > 1
        or (os.sep != "/" and os.sep in value)
        or suffix in FORMAT_BY_SUFFIX
        or suffix in (".txt", ".text")
    )


def local_dataset(value: str) -> Path | None:
    """The local folder or file ``data.dataset`` names, or None for a hub id."""
    if value.startswith(BUILTIN_PREFIX):
        return resolve_builtin(value[len(BUILTIN_PREFIX) :].strip())
    path = Path(value).expanduser()
    if path.exists():
        return path
    if looks_local(value):
        raise DataError(
            f"data.dataset: {value} does not exist",
            hint=f"Local paths are relative to the working directory ({Path.cwd()}).",
        )
    return None


def plan_sources(data, roles: tuple[str, ...]) -> SourcePlan:
    """Decide where each split in ``roles`` comes from (``data`` is the recipe's data section)."""
    plan = SourcePlan()
    for role in roles:
        value = getattr(data, EXPLICIT_KEYS[role])
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise DataError(
                    f"data.{EXPLICIT_KEYS[role]}: file not found: {value}",
                    hint=f"Paths are relative to the working directory ({Path.cwd()}).",
                )
            plan.files[role] = path
    wanted = [role for role in roles if role not in plan.files]
    if not data.dataset or not wanted:
        return plan
    location = local_dataset(data.dataset)
    if location is None:
        plan.hub = HubDataset(data.dataset, data.config, data.revision)
        names = {"train": data.train_split, "validation": data.validation_split, "test": data.test_split}
        plan.hub_splits = {role: names[role] for role in wanted if names[role]}
    elif location.is_dir():
        plan.folder = location
        for role in wanted:
            found = find_split_file(location, split_names(data, role), role)
            if found is not None:
                plan.files[role] = found
    elif "train" in wanted:
        plan.files["train"] = location
    return plan


def split_names(data, role: str) -> tuple[str, ...]:
    if role == "train":
        return (data.train_split,)
    if role == "validation":
        if data.validation_split is None:
            return ()
        return tuple(dict.fromkeys((data.validation_split, *VALIDATION_NAMES)))
    return (data.test_split,) if data.test_split else ()


def find_split_file(folder: Path, names: tuple[str, ...], role: str) -> Path | None:
    """The top-level file for a split: ``NAME.*`` first, then ``NAME-*``/``NAME_*`` (dev-v1.1.json)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    for name in names:
        lowered = name.lower()
        for matches in (
            [p for p in files if p.name.lower().split(".")[0] == lowered],
            [p for p in files if p.name.lower().startswith((f"{lowered}-", f"{lowered}_"))],
        ):
            if len(matches) > 1:
                raise DataError(
                    f"{folder}: several files could be the {role} split: {', '.join(p.name for p in matches)}",
                    hint=f"Keep one, or name the file with data.{EXPLICIT_KEYS[role]}.",
                )
            if matches:
                return matches[0]
    if role == "train" and names:
        listing = ", ".join(p.name for p in files) or "no files"
        raise DataError(
            f"{folder}: no train split file (looked for {names[0]}.*; found {listing})",
            hint="Name the file train.csv / train.jsonl / train.txt ..., or set data.train_file.",
        )
    return None
