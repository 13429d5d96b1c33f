"""Masked-LM perplexity and accuracy against torch's cross-entropy on the same logits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bertkit.errors import DataError
from bertkit.evaluation import MlmEvaluator, mlm_example_stats


def test_hand_computed_perplexity():
    evaluator = MlmEvaluator()
    evaluator.add_batch([2.0, 4.0], [1, 3], [1, 1])  # loss sums per sequence
    m = evaluator.metrics()
    assert m["loss"] == pytest.approx(6.0 / 4)
    assert m["perplexity"] == pytest.approx(math.exp(1.5))
    assert m["accuracy"] == pytest.approx(2 / 4)


def test_logits_match_torch_cross_entropy():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 7, 11, generator=generator) * 3
    labels = torch.randint(0, 11, (4, 7), generator=generator)
    labels[torch.rand(4, 7, generator=generator) < 0.6] = -100
    labels[2] = -100  # a sequence without masked tokens
    evaluator = MlmEvaluator()
    evaluator.add_logits(logits.numpy(), labels.numpy())
    expected_loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), labels.reshape(-1)).item()
    masked = labels != -100
    expected_acc = (logits.argmax(-1)[masked] == labels[masked]).float().mean().item()
    m = evaluator.metrics()
    assert m["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert m["perplexity"] == pytest.approx(math.exp(expected_loss), rel=1e-6)
    assert m["accuracy"] == pytest.approx(expected_acc)
    loss_sums, n_masked, _ = mlm_example_stats(logits.numpy(), labels.numpy())
    assert n_masked.tolist() == masked.sum(1).tolist() and loss_sums[2] == 0.0
    assert evaluator.n_examples == 4


def test_bootstrap_resamples_sequences():
    evaluator = MlmEvaluator(task="pretraining")
    rng = np.random.default_rng(0)
    masked = rng.integers(1, 20, size=300)
    evaluator.add_batch(masked * rng.uniform(1.5, 2.5, size=300), masked, rng.binomial(masked, 0.4))
    split = evaluator.result()
    assert split.task == "pretraining"
    for name in ("loss", "perplexity", "accuracy"):
        assert split.confidence_intervals[name].contains(split.metrics[name])
    assert split.details["n_masked_tokens"] == int(masked.sum())


def test_bad_counts_are_data_errors():
    with pytest.raises(DataError, match="3 correct of 2 masked"):
        MlmEvaluator().add_batch([1.0], [2], [3])
    with pytest.raises(DataError, match="do not fit labels"):
        MlmEvaluator().add_logits(np.zeros((2, 3, 5)), np.zeros((2, 4), dtype=int))
