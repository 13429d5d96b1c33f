"""Hub datasets through ``datasets.load_dataset``, with errors that say what to do when the hub is unreachable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bertkit.errors import DataError

LOCAL_HINT = (
    "Point the recipe at local files instead: --set data.dataset=path/to/folder (holding train.*, dev.* or "
    "validation.*, test.*). If the dataset is already in the local cache, set HF_DATASETS_OFFLINE=1 to use it "
    "without the network."
)


@dataclass(frozen=True)
class HubDataset:
    name: str
    config: str | None = None
    revision: str | None = None

    def __str__(self) -> str:
        text = self.name + (f" (config {self.config})" if self.config else "")
        return text + (f" at revision {self.revision}" if self.revision else "")


def load_hub(ref: HubDataset) -> Any:
    """All splits of a hub dataset as a ``DatasetDict``. Raises ``DataError`` with a next step."""
    import datasets

    try:
        loaded = datasets.load_dataset(ref.name, ref.config, revision=ref.revision)
    except Exception as err:  # datasets raises many types (ConnectionError, ValueError, FileNotFoundError ...)
        raise hub_error(ref, err) from None
    if isinstance(loaded, datasets.Dataset):
        return datasets.DatasetDict({"train": loaded})
    return loaded


def hub_error(ref: HubDataset, err: Exception) -> DataError:
    name = type(err).__name__
    detail = " ".join(str(err).split())[:400]
    if isinstance(err, ConnectionError) or "offline" in detail.lower() or "couldn't reach" in detail.lower():
        return DataError(f"cannot load hub dataset {ref}: the hub is not reachable ({detail})", hint=LOCAL_HINT)
    if name == "DatasetNotFoundError" or (isinstance(err, FileNotFoundError) and "hub" in detail.lower()):
        return DataError(
            f"hub dataset {ref} not found ({detail})",
            hint="Check the id on https://huggingface.co/datasets (e.g. nyu-mll/glue). " + LOCAL_HINT,
        )
    if "scripts are no longer supported" in detail:
        return DataError(
            f"hub dataset {ref} needs a loading script, which this version of `datasets` no longer runs",
            hint="Use a copy of the dataset stored as Parquet/CSV/JSON on the hub, or download its files. "
            + LOCAL_HINT,
        )
    if "config" in detail.lower():
        return DataError(f"hub dataset {ref}: {detail}", hint="Set data.config to one of the configurations listed.")
    return DataError(f"cannot load hub dataset {ref}: {name}: {detail}", hint=LOCAL_HINT)


def pick_split(loaded: Any, ref: HubDataset, split: str, key: str) -> Any:
    """One split of a loaded ``DatasetDict``; a missing one is an error listing the available splits."""
    if split in loaded:
        return loaded[split]
    available = ", ".join(loaded) or "(none)"
    raise DataError(
        f"hub dataset {ref} has no split '{split}' (available: {available})",
        hint=f"Set {key} to one of: {available}.",
    )
