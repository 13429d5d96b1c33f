"""Fixtures: one small report per task for the report, render and compare tests."""

from __future__ import annotations

import pytest

from bertkit.evaluation import EvalReport
from tests.evaluation.builders import classification_split, mlm_split, ner_split, qa_split, training_log_records


@pytest.fixture
def classification_report() -> EvalReport:
    return EvalReport(
        task="text-classification",
        splits={"validation": classification_split()},
        model={"name": "tiny-model"},
        data={"source": "dev.tsv"},
        training_log=training_log_records(),
    )


@pytest.fixture
def ner_report() -> EvalReport:
    return EvalReport(task="token-classification", splits={"test": ner_split()}, model={"name": "tiny-ner"})


@pytest.fixture
def qa_report() -> EvalReport:
    return EvalReport(task="question-answering", splits={"validation": qa_split()}, model={"name": "tiny-qa"})


@pytest.fixture
def mlm_report() -> EvalReport:
    return EvalReport(task="masked-lm", splits={"validation": mlm_split()}, model={"name": "tiny-mlm"})


@pytest.fixture(params=["classification", "ner", "qa", "mlm"])
def any_report(request) -> EvalReport:
    return request.getfixturevalue(f"{request.param}_report")
