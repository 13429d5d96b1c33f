"""A new BERT for pre-training from scratch (``model.from_scratch: true``): its tokenizer (trained on the corpus
or taken from ``model.name``), a ``BertConfig`` from ``model.architecture``, and randomly initialised weights.

The engine calls :func:`scratch_start` instead of loading a config and tokenizer from ``model.name``, then the
task's ``build_scratch_model(config)`` instead of ``build_model(...)``. :func:`save_scratch_start` writes the
same start as a model folder (tokenizer + random weights), for workflows that begin from a folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bertkit.errors import RecipeError

DROPOUT_NAMES = {"hidden_dropout": "hidden_dropout_prob", "attention_dropout": "attention_probs_dropout_prob"}


@dataclass
class ScratchStart:
    tokenizer: Any  # transformers fast tokenizer
    config: Any  # transformers.BertConfig
    notes: list[str] = field(default_factory=list)


def scratch_config(model_section: Any, tokenizer: Any, task_updates: dict[str, Any] | None = None) -> Any:
    """A ``BertConfig`` of ``model_section.architecture`` sized to ``tokenizer``'s vocabulary, with the recipe's
    dropout settings and ``config_overrides`` applied (in that order, as for pretrained models)."""
    from transformers import BertConfig

    architecture = model_section.architecture
    if architecture is None:
        raise RecipeError("model.from_scratch needs model.architecture (layers, hidden size, heads)")
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=architecture.hidden_size,
        num_hidden_layers=architecture.num_hidden_layers,
        num_attention_heads=architecture.num_attention_heads,
        intermediate_size=architecture.intermediate_size or 4 * architecture.hidden_size,
        max_position_embeddings=architecture.max_position_embeddings,
        type_vocab_size=2,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
    )
    for key, value in (task_updates or {}).items():
        setattr(config, key, value)
    for option, name in DROPOUT_NAMES.items():
        value = getattr(model_section, option, None)
        if value is not None:
            setattr(config, name, value)
    for key, value in (model_section.config_overrides or {}).items():
        setattr(config, key, value)
    return config


def scratch_tokenizer(recipe: Any, splits: Any, tokenizer_dir: str | Path | None = None) -> tuple[Any, list[str]]:
    """Train a WordPiece tokenizer on the train split (``task.tokenizer.train``), else load ``model.name``'s.

    With ``tokenizer_dir``, a tokenizer trained earlier and saved there is reused, and a newly trained one is saved
    there: WordPiece training is not bit-reproducible (see :mod:`bertkit.tasks.tokenizer_training`), so a resumed
    run must not train again, or its token ids would no longer match the checkpoint's embeddings."""
    tokenizer_spec = getattr(recipe.task, "tokenizer", None)
    max_length = recipe.model.architecture.max_position_embeddings
    if tokenizer_spec is not None and tokenizer_spec.train:
        from bertkit.tasks.tokenizer_training import WordPieceSettings, describe_vocabulary, train_tokenizer_on

        saved = Path(tokenizer_dir) if tokenizer_dir is not None else None
        if saved is not None and (saved / "tokenizer.json").is_file():
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(saved), [f"reused the tokenizer trained for this run ({saved})"]
        settings = WordPieceSettings.from_spec(tokenizer_spec, max_length)
        source = (getattr(splits, "sources", None) or {}).get("train", "the train split")
        tokenizer = train_tokenizer_on(splits.train, settings, source=source)
        if saved is not None:
            from bertkit.io.outputs import atomic_directory

            with atomic_directory(saved) as staging:
                tokenizer.save_pretrained(staging)
        return tokenizer, [describe_vocabulary(tokenizer, settings)]
    from bertkit.modeling.hub import resolve_model_source
    from bertkit.modeling.loading import load_tokenizer

    source = resolve_model_source(recipe.model.name)
    tokenizer = load_tokenizer(source, trust_remote_code=recipe.model.trust_remote_code)
    tokenizer.model_max_length = min(int(tokenizer.model_max_length or max_length), max_length)
    return tokenizer, [f"tokenizer of '{recipe.model.name}' ({len(tokenizer)} tokens); weights start from scratch"]


def scratch_start(
    recipe: Any, splits: Any, task_updates: dict[str, Any] | None = None, tokenizer_dir: str | Path | None = None
) -> ScratchStart:
    """Tokenizer and config of a from-scratch run (``tokenizer_dir``: where the run keeps its trained tokenizer)."""
    tokenizer, notes = scratch_tokenizer(recipe, splits, tokenizer_dir)
    config = scratch_config(recipe.model, tokenizer, task_updates)
    architecture = recipe.model.architecture
    notes.append(
        f"new BERT from scratch: {architecture.num_hidden_layers} layers, hidden {architecture.hidden_size}, "
        f"{architecture.num_attention_heads} heads, vocabulary {config.vocab_size}"
    )
    return ScratchStart(tokenizer, config, notes)


def new_model(config: Any, auto_class: str, *, seed: int | None = None) -> Any:
    """Randomly initialised weights of ``auto_class`` (e.g. AutoModelForPreTraining) for ``config``."""
    import transformers

    if seed is not None:
        import torch

        torch.manual_seed(seed)
    return getattr(transformers, auto_class).from_config(config)


def save_scratch_start(start: ScratchStart, auto_class: str, folder: str | Path, *, seed: int = 0) -> Path:
    """Write ``start`` as a model folder: tokenizer, config and seeded random weights (safetensors)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = new_model(start.config, auto_class, seed=seed)
    model.save_pretrained(folder)
    start.tokenizer.save_pretrained(folder)
    return folder
