"""Evaluation: local metrics (no network), bootstrap confidence intervals, reports and comparisons.

Typical use (the task layer feeds predictions batch by batch; memory stays flat)::

    evaluator = make_evaluator("text-classification", labels=id2label_list)
    for batch in batches:
        evaluator.add_logits(logits, gold_ids, texts=texts)
    split = evaluator.result(bootstrap=BootstrapSettings(1000, 0.95, seed=0), truncation=truncation_stats)
    report = EvalReport(task="text-classification", splits={"validation": split}, model={...}, data={...})
    write_report(report, output_folder)            # report.json, report.md, report.html (atomic)
    renderables = report_renderables(report)       # for the CLI to print

Heavy libraries (numpy) are imported inside functions.
"""

from bertkit.evaluation.base import Evaluator
from bertkit.evaluation.compare import Comparison, MetricDelta, compare, comparison_markdown, comparison_renderables
from bertkit.evaluation.factory import make_evaluator
from bertkit.evaluation.labels import align_labels
from bertkit.evaluation.metrics.classification import ClassificationEvaluator, classification_metrics
from bertkit.evaluation.metrics.mlm import MlmEvaluator, mlm_example_stats
from bertkit.evaluation.metrics.ner import NerEvaluator, ner_metrics
from bertkit.evaluation.metrics.squad import QaEvaluator, normalize_answer, squad_metrics
from bertkit.evaluation.render_html import render_html
from bertkit.evaluation.render_md import render_markdown
from bertkit.evaluation.render_rich import report_renderables
from bertkit.evaluation.report import EvalReport, load_report, write_report
from bertkit.evaluation.results import (
    SCHEMA_VERSION,
    BootstrapSettings,
    ConfidenceInterval,
    ConfusionMatrix,
    SplitResult,
    TruncationStats,
)
from bertkit.evaluation.traininglog import load_training_log

__all__ = [
    "SCHEMA_VERSION",
    "BootstrapSettings",
    "ClassificationEvaluator",
    "Comparison",
    "ConfidenceInterval",
    "ConfusionMatrix",
    "EvalReport",
    "Evaluator",
    "MetricDelta",
    "MlmEvaluator",
    "NerEvaluator",
    "QaEvaluator",
    "SplitResult",
    "TruncationStats",
    "align_labels",
    "classification_metrics",
    "compare",
    "comparison_markdown",
    "comparison_renderables",
    "load_report",
    "load_training_log",
    "make_evaluator",
    "mlm_example_stats",
    "ner_metrics",
    "normalize_answer",
    "render_html",
    "render_markdown",
    "report_renderables",
    "squad_metrics",
    "write_report",
]
