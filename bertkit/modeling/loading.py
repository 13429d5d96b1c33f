"""Load a tokenizer and model for a task, with the checks that catch the usual mistakes early.

Every inference command and ``bertkit evaluate`` go through :func:`load_for_inference`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import ModelLoadError
from bertkit.modeling.device import Precision, resolve_precision, select_device
from bertkit.modeling.hub import ModelSource, explain_load_failure, resolve_model_source

AUTO_CLASSES = {
    "fill-mask": "AutoModelForMaskedLM",
    "text-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
}
HEAD_NAMES = {
    "fill-mask": "masked-LM head",
    "text-classification": "classification head",
    "token-classification": "token-classification head",
    "question-answering": "question-answering (span) head",
}
# bf16 ranks ~30k vocabulary logits with only 3 significant digits: fill-mask stays in fp32 under ``auto``.
# text-classification keeps bf16 autocast (measured, bench/infer.py, MiniLM + SST-2 head, AVX512-BF16 CPU): labels
# equal fp32's on 99.6% of 1,200 mixed-length texts and 99.97% of 6,000 SST-2 sentences, and differ only where
# fp32 scored a near-tie (top score <= 0.503 of 2 labels); it runs ~1.8x faster than fp32 there.
BF16_STABLE = {"fill-mask": False}
GENERIC_LABEL = re.compile(r"^LABEL_\d+$")
# Model types whose position ids start after the padding index, so two positions are unusable.
PADDING_OFFSET_TYPES = {"roberta", "xlm-roberta", "camembert", "longformer", "xlm-roberta-xl"}
IGNORED_MISSING = re.compile(r"(position_ids|token_type_ids|num_batches_tracked)$")


@dataclass
class LoadedModel:
    """A model ready for inference: weights on ``device``, in eval mode, with its tokenizer and checks done."""

    source: ModelSource
    task: str
    model: Any
    tokenizer: Any
    device: Any
    precision: Precision
    max_length: int
    warnings: list[str] = field(default_factory=list)

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def id2label(self) -> dict[int, str]:
        return {int(k): str(v) for k, v in (self.model.config.id2label or {}).items()}


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports while we load; our own checks report what matters."""
    import transformers

    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(level)


def model_max_length(tokenizer: Any, config: Any) -> int:
    """The longest input the model takes, from the tokenizer and the position embeddings."""
    limits = []
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 100_000:
        limits.append(tok_max)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        offset = 2 if getattr(config, "model_type", "") in PADDING_OFFSET_TYPES else 0
        limits.append(positions - offset)
    return min(limits) if limits else 512


def load_tokenizer(source: ModelSource, *, trust_remote_code: bool = False, need_fast: bool = False) -> Any:
    from transformers import AutoTokenizer

    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(source.location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as err:
        raise explain_load_failure(source, err) from None
    if need_fast and not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"model '{source.name}' has only a slow (Python) tokenizer; this command needs a fast one "
            "for character offsets",
            hint="Save a fast tokenizer with the model (tokenizer.json), e.g. via AutoTokenizer.from_pretrained(..., "
            "use_fast=True).save_pretrained(folder).",
        )
    return tokenizer


def head_problems(task: str, model: Any, info: dict[str, Any]) -> list[str]:
    """Weights the checkpoint lacks (so they were randomly initialised) or that did not fit."""
    missing = [k for k in info.get("missing_keys", []) if not IGNORED_MISSING.search(k)]
    mismatched = [str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys", [])]
    return sorted(set(missing) | set(mismatched))


def check_task_head(source: ModelSource, task: str, model: Any, info: dict[str, Any]) -> None:
    problems = head_problems(task, model, info)
    if not problems:
        return
    shown = ", ".join(problems[:4]) + (f" (+{len(problems) - 4} more)" if len(problems) > 4 else "")
    fixes = {
        "fill-mask": "Use a checkpoint trained with masked-LM (e.g. bert-base-uncased), or give this encoder an "
        "MLM head with `bertkit finetune` on a masked-lm recipe.",
    }
    hint = fixes.get(task, f"Fine-tune it first (`bertkit recipe init --task {task}`), then run on the output folder.")
    raise ModelLoadError(
        f"model '{source.name}' has no trained {HEAD_NAMES[task]}: the checkpoint lacks {shown}, "
        "so predictions would be random",
        hint=hint,
    )


def load_task_model(source: ModelSource, task: str, *, trust_remote_code: bool = False) -> Any:
    import transformers

    auto_cls = getattr(transformers, AUTO_CLASSES[task])
    try:
        with quiet_transformers():
            model, info = auto_cls.from_pretrained(
                source.location, trust_remote_code=trust_remote_code, output_loading_info=True
            )
    except ValueError as err:
        if "Unrecognized configuration class" in str(err) or "does not support" in str(err):
            raise ModelLoadError(
                f"model '{source.name}' cannot do {task}: transformers has no {AUTO_CLASSES[task]} for its architecture"
            ) from None
        raise explain_load_failure(source, err) from None
    except (OSError, KeyError) as err:
        raise explain_load_failure(source, err) from None
    check_task_head(source, task, model, info)
    return model


def label_warnings(task: str, model: Any) -> list[str]:
    if task not in ("text-classification", "token-classification"):
        return []
    labels = [str(v) for v in (model.config.id2label or {}).values()]
    if labels and all(GENERIC_LABEL.match(v) for v in labels):
        return [
            f"the model's labels have no names ({', '.join(labels[:3])}{', ...' if len(labels) > 3 else ''}): "
            "it was saved without id2label. Pass --labels to name them, or fine-tune with bertkit, which saves them."
        ]
    return []


def load_for_inference(
    model_name: str,
    task: str,
    *,
    device: str = "auto",
    precision: str = "auto",
    trust_remote_code: bool = False,
) -> LoadedModel:
    """Resolve, load and check a model for ``task``; put it on ``device`` in eval mode."""
    if task not in AUTO_CLASSES:
        raise ValueError(f"unknown task {task!r}")
    torch_device = select_device(device)
    resolved_precision = resolve_precision(precision, torch_device, bf16_stable=BF16_STABLE.get(task, True))
    source = resolve_model_source(model_name)
    need_fast = task in ("token-classification", "question-answering")
    tokenizer = load_tokenizer(source, trust_remote_code=trust_remote_code, need_fast=need_fast)
    model = load_task_model(source, task, trust_remote_code=trust_remote_code)
    model.to(torch_device)
    model.eval()
    return LoadedModel(
        source=source,
        task=task,
        model=model,
        tokenizer=tokenizer,
        device=torch_device,
        precision=resolved_precision,
        max_length=model_max_length(tokenizer, model.config),
        warnings=label_warnings(task, model),
    )
