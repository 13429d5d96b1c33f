"""The packaged quickstart dataset (bertkit/resources/datasets/sentiment): well formed, balanced, varied."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from importlib.resources import files

import pytest

LABELS = {"negative", "positive"}
SPLITS = ("train", "dev")
# Words too common to say anything about whether two sentences are near-duplicates.
STOPWORDS = set(
    "a an and are as at be but for had have i i'm is it it's its me my not of on our so that the this to was we"
    " were with you".split()
)


def dataset_folder():
    return files("bertkit.resources") / "datasets" / "sentiment"


def read_split(name: str) -> list[dict]:
    rows = []
    text = (dataset_folder() / f"{name}.jsonl").read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        assert line.strip(), f"{name}.jsonl:{number}: blank line"
        row = json.loads(line)
        assert isinstance(row, dict), f"{name}.jsonl:{number}: not a JSON object"
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {name: read_split(name) for name in SPLITS}


def normalized(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in STOPWORDS)


def test_rows_have_text_and_a_known_label(splits):
    for name, rows in splits.items():
        for number, row in enumerate(rows, start=1):
            assert set(row) == {"text", "label"}, f"{name}.jsonl:{number}: keys {sorted(row)}"
            assert isinstance(row["text"], str) and row["text"].strip(), f"{name}.jsonl:{number}: empty text"
            assert row["text"] == row["text"].strip(), f"{name}.jsonl:{number}: surrounding whitespace"
            assert row["label"] in LABELS, f"{name}.jsonl:{number}: label {row['label']!r}"


def test_split_sizes(splits):
    assert 550 <= len(splits["train"]) <= 750
    assert 130 <= len(splits["dev"]) <= 200


@pytest.mark.parametrize("name", SPLITS)
def test_labels_are_balanced(splits, name):
    counts = Counter(row["label"] for row in splits[name])
    assert set(counts) == LABELS
    for label, count in counts.items():
        share = count / len(splits[name])
        assert 0.4 <= share <= 0.6, f"{name}: {label} is {share:.0%} of the split"


def test_no_duplicates_within_or_across_splits(splits):
    seen: dict[str, str] = {}
    for name, rows in splits.items():
        for number, row in enumerate(rows, start=1):
            key = normalized(row["text"])
            assert key not in seen, f"{name}.jsonl:{number} repeats {seen.get(key)}: {row['text']!r}"
            seen[key] = f"{name}.jsonl:{number}"


def test_no_near_duplicates(splits):
    """No two sentences (in any split) share most of their content words: catches paraphrases and templates."""
    rows = [(f"{name}:{n}", row["text"]) for name in SPLITS for n, row in enumerate(splits[name], start=1)]
    words = [content_words(text) for _, text in rows]
    close = []
    for i, j in itertools.combinations(range(len(rows)), 2):
        union = words[i] | words[j]
        if union and len(words[i] & words[j]) / len(union) >= 0.6:
            close.append((rows[i], rows[j]))
    assert not close, f"near-duplicates: {close[:5]}"


def test_no_sentence_frame_dominates(splits):
    """Templated data shows up as many sentences opening with the same words."""
    openings = Counter(
        " ".join(re.findall(r"[a-z0-9']+", row["text"].lower())[:3]) for rows in splits.values() for row in rows
    )
    opening, count = openings.most_common(1)[0]
    assert count <= 8, f"{count} sentences open with {opening!r}"


@pytest.mark.parametrize("name", SPLITS)
def test_lengths_vary(splits, name):
    lengths = [len(row["text"].split()) for row in splits[name]]
    assert min(lengths) >= 3
    assert max(lengths) <= 45
    assert sum(n > 15 for n in lengths) / len(lengths) >= 0.2, f"{name}: too few long sentences"
    assert sum(n < 8 for n in lengths) / len(lengths) >= 0.2, f"{name}: too few short sentences"


def test_readme_states_the_actual_counts(splits):
    readme = (dataset_folder() / "README.md").read_text(encoding="utf-8")
    assert "Apache-2.0" in readme
    for name, rows in splits.items():
        counts = Counter(row["label"] for row in rows)
        expected = f"| {name} | {len(rows)} | {counts['negative']} | {counts['positive']} |"
        assert expected in readme, f"README.md should contain the row {expected!r}"
