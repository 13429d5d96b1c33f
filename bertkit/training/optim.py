"""The step plan (how many optimizer steps, warmup), AdamW with decoupled weight decay, and the LR schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SCHEDULERS = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}
NO_DECAY_MODULES = ("LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm")


@dataclass(frozen=True)
class TrainingPlan:
    """Numbers derived from the recipe and the data before training: shown by --dry-run, used by the loop."""

    train_examples: int
    num_processes: int
    batch_size: int
    gradient_accumulation_steps: int
    batches_per_epoch: int  # per process
    steps_per_epoch: int  # optimizer steps
    total_steps: int
    epochs: int  # passes over the data that the loop starts (the last may stop early)
    warmup_steps: int

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.num_processes * self.gradient_accumulation_steps


def make_plan(training: Any, train_examples: int, num_processes: int = 1) -> TrainingPlan:
    """Steps per epoch as Accelerate will shard them: each process gets every num_processes-th batch."""
    total_batches = math.ceil(train_examples / training.batch_size)
    batches_per_epoch = math.ceil(total_batches / num_processes)
    steps_per_epoch = math.ceil(batches_per_epoch / training.gradient_accumulation_steps)
    if training.max_steps is not None:
        total_steps = int(training.max_steps)
    else:
        total_steps = max(1, math.ceil(training.epochs * steps_per_epoch))
    if training.warmup_steps > 0:
        warmup = int(training.warmup_steps)
    else:
        warmup = math.ceil(training.warmup_ratio * total_steps)
    return TrainingPlan(
        train_examples=train_examples,
        num_processes=num_processes,
        batch_size=training.batch_size,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        batches_per_epoch=batches_per_epoch,
        steps_per_epoch=steps_per_epoch,
        total_steps=total_steps,
        epochs=math.ceil(total_steps / steps_per_epoch),
        warmup_steps=min(warmup, total_steps),
    )


def parameter_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay as transformers' Trainer applies it: never on biases or normalisation weights."""
    no_decay: set[str] = set()
    for module_name, module in model.named_modules():
        is_norm = any(kind in type(module).__name__ for kind in NO_DECAY_MODULES)
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if is_norm or param_name == "bias":
                no_decay.add(full)
    from bertkit.modeling.speedups import extra_parameters

    decay, plain = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (plain if name in no_decay else decay).append(param)
    decay += extra_parameters(model)  # word-embedding rows trained outside the module (speed-ups)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": plain, "weight_decay": 0.0},
    ]


def build_optimizer(model: Any, training: Any, *, fused: bool | None = None) -> Any:
    """AdamW; the fused kernel where torch has one for the device (it is also the fastest on CPU)."""
    import torch

    kwargs: dict[str, Any] = {
        "lr": training.learning_rate,
        "betas": (training.adam_beta1, training.adam_beta2),
        "eps": training.adam_epsilon,
    }
    if fused is None:
        fused = all(p.dtype == torch.float32 for p in model.parameters())
    if fused:
        kwargs["fused"] = True
    return torch.optim.AdamW(parameter_groups(model, training.weight_decay), **kwargs)


def build_scheduler(optimizer: Any, training: Any, plan: TrainingPlan) -> Any:
    from transformers import get_scheduler

    return get_scheduler(
        SCHEDULERS[training.lr_scheduler],
        optimizer,
        num_warmup_steps=plan.warmup_steps,
        num_training_steps=plan.total_steps,
    )


def clip_gradients(accelerator: Any, parameters: list[Any], max_norm: float, optimizer: Any = None) -> Any:
    """Clip the global gradient norm of ``parameters`` (the model's and :func:`trained_parameters`) to ``max_norm``;
    returns the norm before clipping.

    On CPU (no gradient scaler, plain or DDP models) this is torch's clip_grad_norm_ minus its unconditional
    multiply: when the norm is already below ``max_norm`` the factor would be exactly 1.0, so the pass over every
    gradient is skipped (bit-identical results; the host sync it needs costs nothing on CPU). With ``optimizer``
    (a fused AdamW, training.speedups) the factor is not applied in a pass of its own either: the fused kernel
    divides each gradient by its ``grad_scale`` as it reads it (the same maths as torch's clipping, rounded once
    differently). Elsewhere Accelerate's clip_grad_norm_ runs (it unscales fp16 gradients and knows FSDP/DeepSpeed).
    """
    import torch

    simple = accelerator.device.type == "cpu" and accelerator.scaler is None
    get_total_norm = getattr(torch.nn.utils, "get_total_norm", None)
    if not simple or get_total_norm is None or accelerator.distributed_type.value not in ("NO", "MULTI_CPU"):
        return accelerator.clip_grad_norm_(parameters, max_norm)
    inner = getattr(optimizer, "optimizer", optimizer)  # under Accelerate's AcceleratedOptimizer
    fold = inner is not None and bool(inner.defaults.get("fused"))
    if fold:
        inner.grad_scale = None  # this step's factor, if any, is set below
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, 2.0)
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1.0:
        if fold:
            inner.grad_scale = ((total + 1e-6) / max_norm).to(torch.float32)
        else:
            torch._foreach_mul_(grads, coefficient)
    return total


def trained_parameters(accelerator: Any, model: Any) -> list[Any]:
    """The model's parameters plus those the speed-ups train outside it (compact embedding rows)."""
    from bertkit.modeling.speedups import extra_parameters

    return list(model.parameters()) + extra_parameters(accelerator.unwrap_model(model))
