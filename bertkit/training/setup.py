"""Everything before the first step: model source, tokenizer, task, encoded splits, model config and weights.

Shared by training and ``--dry-run`` (which stops before any weights are loaded).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import ModelLoadError, RecipeError
from bertkit.tasks.base import EncodedSplit, Task

DROPOUT_KEYS = {
    "hidden_dropout": ("hidden_dropout_prob", "dropout", "hidden_dropout"),
    "attention_dropout": ("attention_probs_dropout_prob", "attention_dropout", "attention_probs_dropout"),
}


@dataclass
class PreparedData:
    """The task with its labels resolved, the tokenizer, and every split encoded."""

    task: Task
    tokenizer: Any
    source: Any  # bertkit.modeling.hub.ModelSource
    config: Any  # transformers config with the task's head settings applied
    encoded: dict[str, EncodedSplit]
    fingerprints: dict[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def train(self) -> EncodedSplit:
        return self.encoded["train"]


def load_tokenizer(recipe: Any, source: Any, task: Task) -> Any:
    from transformers import AutoTokenizer

    from bertkit.modeling.hub import explain_load_failure
    from bertkit.modeling.loading import quiet_transformers

    revision = None if source.is_local else recipe.model.revision
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(
                source.location, revision=revision, trust_remote_code=recipe.model.trust_remote_code
            )
    except (OSError, ValueError, KeyError) as err:
        raise explain_load_failure(source, err) from None
    if task.needs_fast_tokenizer and not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"model '{source.name}' has no fast tokenizer, which {task.task_type} needs")
    if tokenizer.pad_token_id is None:
        raise ModelLoadError(
            f"the tokenizer of '{source.name}' has no padding token, so batches cannot be padded",
            hint="Use an encoder model (BERT, RoBERTa, DistilBERT, MiniLM), or save the tokenizer with a pad token.",
        )
    return tokenizer


def load_config(recipe: Any, source: Any, task: Task) -> tuple[Any, list[str]]:
    """The model config with the task head's values, dropout overrides and ``config_overrides`` applied."""
    from transformers import AutoConfig

    from bertkit.modeling.hub import explain_load_failure

    model = recipe.model
    try:
        config = AutoConfig.from_pretrained(
            source.location,
            revision=None if source.is_local else model.revision,
            trust_remote_code=model.trust_remote_code,
        )
    except (OSError, ValueError, KeyError) as err:
        raise explain_load_failure(source, err) from None
    check_head_exists(task, config, source)
    for key, value in task.model_config_updates().items():
        setattr(config, key, value)
    notes = []
    for option, names in DROPOUT_KEYS.items():
        value, reason = getattr(model, option), None
        if value is None:  # the recipe leaves it to the model, unless the task has its own default
            value, reason = task.default_dropout(option) or (None, None)
            if value is None:
                continue
        present = [n for n in names if hasattr(config, n)]
        if not present and reason:
            continue
        if not present:
            raise RecipeError(f"model.{option}: the {config.model_type} config has no dropout setting bertkit knows")
        for name in present:
            setattr(config, name, value)
        notes.append(f"{', '.join(present)} set to {value}" + (f" ({reason})" if reason else ""))
    for key, value in model.config_overrides.items():
        setattr(config, key, value)
    return config, notes


def check_head_exists(task: Task, config: Any, source: Any) -> None:
    """Fail before any data is encoded when transformers has no model of this task for the architecture."""
    import transformers

    mapping = getattr(getattr(transformers, task.auto_model_class), "_model_mapping", None)
    if mapping is None or getattr(config, "auto_map", None):
        return  # remote-code models declare their own classes
    if type(config) not in mapping:
        raise ModelLoadError(
            f"model '{source.name}' (type {config.model_type}) cannot do {task.task_type}: transformers has no "
            f"{task.auto_model_class} for this architecture",
            hint="Pick an encoder such as BERT, RoBERTa, DistilBERT or MiniLM for model.name.",
        )


def check_max_length(task: Task, tokenizer: Any, config: Any, source: Any) -> None:
    from bertkit.modeling.loading import model_max_length

    limit = model_max_length(tokenizer, config)
    if task.max_length > limit:
        raise RecipeError(
            f"task.max_length is {task.max_length} but model '{source.name}' takes at most {limit} tokens",
            hint=f"Set task.max_length to {limit} or less.",
        )


def prepare_data(
    recipe: Any, splits: Any, *, main_process_first: Any = None, tokenizer_dir: Any = None
) -> PreparedData:
    """Resolve the model source, load tokenizer and config, set the task up on the data and encode every split.

    ``tokenizer_dir``: where a from-scratch run keeps the tokenizer it trains (reused on resume, and by the other
    processes of a multi-process run, which wait for the main process to write it)."""
    from bertkit.modeling.hub import resolve_model_source
    from bertkit.tasks.registry import build_task

    task = build_task(recipe.task)
    task.set_seed(recipe.training.seed)
    notes = list(getattr(splits, "notes", []) or [])
    if recipe.model.from_scratch:
        from bertkit.modeling.hub import ModelSource
        from bertkit.modeling.scratch import scratch_start

        notes += task.setup(splits)
        with main_process_first() if main_process_first else contextlib.nullcontext():
            start = scratch_start(recipe, splits, task.model_config_updates(), tokenizer_dir)
        source = ModelSource(recipe.model.name, "", True)
        tokenizer, config, config_notes = start.tokenizer, start.config, start.notes
    else:
        source = resolve_model_source(recipe.model.name)
        tokenizer = load_tokenizer(recipe, source, task)
        notes += task.setup(splits)
        config, config_notes = load_config(recipe, source, task)
    check_max_length(task, tokenizer, config, source)
    task.pad_token_id = int(tokenizer.pad_token_id)
    with main_process_first() if main_process_first else contextlib.nullcontext():
        encoded = task.prepare(splits, tokenizer)
    notes += task.prepare_notes
    for name, split in encoded.items():
        stats = split.stats
        if stats.truncated:
            notes.append(
                f"{stats.truncated} of {stats.examples} {name} examples ({stats.truncated_share:.1%}) are longer than "
                f"task.max_length={task.max_length} tokens and are truncated"
            )
    fingerprints = dict(getattr(splits, "fingerprints", {}) or {}) or fingerprints_of(splits)
    return PreparedData(task, tokenizer, source, config, encoded, fingerprints, notes + config_notes)


def fingerprints_of(splits: Any) -> dict[str, str]:
    found = {}
    for name in ("train", "validation", "test"):
        dataset = getattr(splits, name, None)
        if dataset is not None:
            found[name] = str(getattr(dataset, "_fingerprint", "")) or f"{len(dataset)} rows"
    return found


def build_model(recipe: Any, prepared: PreparedData) -> tuple[Any, list[str]]:
    """Pretrained weights under the task's head (seed the RNG first: the head's init draws from it)."""
    from bertkit.modeling.loading import quiet_transformers

    source = prepared.source
    if recipe.model.from_scratch:
        return prepared.task.build_scratch_model(prepared.config, seed=recipe.training.seed)
    with quiet_transformers():
        model, notes = prepared.task.build_model(
            source.location,
            prepared.config,
            trust_remote_code=recipe.model.trust_remote_code,
            revision=None if source.is_local else recipe.model.revision,
        )
    return model, notes
