import math

import numpy as np
import pytest

from bertkit.tasks.spans import FeatureSpans, SpanCandidate, best_answers, feature_spans

# A window: [CLS] q q [SEP] c0..c5 [SEP]; context tokens are positions 4..9, each 5 characters wide.
OFFSETS = [None, None, None, None] + [(i * 6, i * 6 + 5) for i in range(6)] + [None]
CONTEXT_RANGE = (4, 10)
CONTEXT = " ".join(f"w{i}xyz" for i in range(6))


def logits(values):
    row = np.full(len(OFFSETS), -2.0)
    for pos, value in values.items():
        row[pos] = value
    return row


def test_best_span_and_score_definition():
    start = logits({0: 1.0, 1: 50.0, 5: 4.0, 7: 2.0})  # position 1 is a question token: never an answer
    end = logits({0: 1.0, 2: 50.0, 6: 3.0, 7: 2.5})
    found = feature_spans(start, end, OFFSETS, CONTEXT_RANGE, 0, top_k=3, max_answer_length=10)
    best = found.candidates[0]
    assert (best.start_token, best.end_token) == (5, 6)
    assert (best.start, best.end) == (6, 17)
    # P(start) and P(end): softmax over the context tokens and [CLS] only
    keep = [0, 4, 5, 6, 7, 8, 9]

    def prob(row, pos):
        return math.exp(row[pos]) / sum(math.exp(row[k]) for k in keep)

    assert best.score == pytest.approx(prob(start, 5) * prob(end, 6))
    assert best.logit == pytest.approx(4.0 + 3.0)
    assert found.null_score == pytest.approx(prob(start, 0) * prob(end, 0))
    assert found.null_logit == pytest.approx(2.0)
    scores = [c.score for c in found.candidates]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    assert all(4 <= c.start_token <= c.end_token < 10 for c in found.candidates)


def test_max_answer_length_limits_spans():
    start = logits({4: 5.0})
    end = logits({9: 5.0, 5: 1.0})
    wide = feature_spans(start, end, OFFSETS, CONTEXT_RANGE, top_k=1, max_answer_length=6).candidates[0]
    assert (wide.start_token, wide.end_token) == (4, 9)
    narrow = feature_spans(start, end, OFFSETS, CONTEXT_RANGE, top_k=50, max_answer_length=2).candidates
    assert (narrow[0].start_token, narrow[0].end_token) == (4, 5)
    assert all(c.end_token - c.start_token < 2 for c in narrow)
    assert len(narrow) == 6 + 5  # every span of one or two context tokens


def test_end_before_start_is_never_a_span():
    start = logits({8: 6.0})
    end = logits({5: 6.0})
    found = feature_spans(start, end, OFFSETS, CONTEXT_RANGE, top_k=30, max_answer_length=30).candidates
    assert all(c.start_token <= c.end_token for c in found)
    assert len(found) == 21  # 6 * 7 / 2


def test_padded_rows_are_fine_and_empty_context_has_no_spans():
    start = np.concatenate([logits({5: 3.0}), np.full(5, 100.0)])  # padding positions must not count
    end = np.concatenate([logits({5: 3.0}), np.full(5, 100.0)])
    found = feature_spans(start, end, OFFSETS, CONTEXT_RANGE)
    assert (found.candidates[0].start_token, found.candidates[0].end_token) == (5, 5)
    empty = feature_spans(start, end, [*OFFSETS[:4], None], (4, 4))
    assert empty.candidates == [] and empty.null_score == pytest.approx(1.0)


def candidate(start, end, score, logit):
    return SpanCandidate(start, end, score, logit, 0, 0)


def test_best_answers_merge_windows_without_duplicates():
    context = "alpha beta gamma delta"
    window_a = FeatureSpans([candidate(6, 10, 0.5, 8.0), candidate(0, 5, 0.3, 7.0)], 0.01, 1.0)
    window_b = FeatureSpans([candidate(6, 10, 0.7, 9.0), candidate(11, 16, 0.2, 6.0)], 0.02, 0.5)
    result = best_answers(context, [window_a, window_b], top_k=5)
    assert [(a.text, a.score) for a in result.answers] == [("beta", 0.7), ("alpha", 0.3), ("gamma", 0.2)]
    assert not result.no_answer and result.null_score is None
    assert [a.text for a in best_answers(context, [window_a, window_b], top_k=1).answers] == ["beta"]


def test_no_answer_rule_uses_the_surest_window_and_threshold():
    context = "alpha beta"
    windows = [
        FeatureSpans([candidate(0, 5, 0.4, 6.0)], 0.3, 7.0),
        FeatureSpans([candidate(6, 10, 0.2, 5.0)], 0.1, 6.5),  # the smallest null logit: 6.5
    ]
    result = best_answers(context, windows, allow_no_answer=True)
    assert result.no_answer  # 6.5 - 6.0 > 0
    assert result.null_score == pytest.approx(0.1)
    assert result.null_score_diff == pytest.approx(0.5)
    assert result.answers[0].text == "alpha"  # the n-best stay available
    assert not best_answers(context, windows, allow_no_answer=True, null_threshold=0.6).no_answer
    assert not best_answers(context, windows).no_answer  # without --allow-no-answer: never


def test_no_span_at_all_is_no_answer():
    result = best_answers("", [FeatureSpans([], 1.0, 0.0)], allow_no_answer=True)
    assert result.no_answer and result.answers == []
