"""Task type -> Task class. Modules are imported only when their task is used.

Adding a task: write ``bertkit/tasks/<module>.py`` with a :class:`bertkit.tasks.base.Task` subclass, and point its
task type at it below.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from bertkit.errors import RecipeError

TASKS: dict[str, str] = {
    "text-classification": "bertkit.tasks.classification:TextClassificationTask",
    "token-classification": "bertkit.tasks.token_classification:TokenClassificationTask",
    "question-answering": "bertkit.tasks.question_answering:QuestionAnsweringTask",
    "masked-lm": "bertkit.tasks.masked_lm:MaskedLMTask",
    "pretraining": "bertkit.tasks.pretraining:PretrainingTask",
}


def task_class(task_type: str) -> type:
    target = TASKS.get(task_type)
    if target is None:
        raise RecipeError(f"unknown task.type '{task_type}'", hint=f"Choose one of: {', '.join(TASKS)}.")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        raise RecipeError(
            f"bertkit finetune does not support task.type '{task_type}' yet",
            hint=f"Supported now: {', '.join(supported_task_types())}.",
        ) from None
    return getattr(module, class_name)


def build_task(task_spec: Any) -> Any:
    """The Task for a recipe's ``task`` section."""
    return task_class(task_spec.type)(task_spec)


def supported_task_types() -> list[str]:
    return [t for t, target in TASKS.items() if importlib.util.find_spec(target.partition(":")[0]) is not None]
