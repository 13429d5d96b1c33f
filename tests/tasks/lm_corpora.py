"""Small text corpora and recipes for the masked-LM and pre-training task tests (written into tmp_path)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.tiny import WORDS

MULTI_PIECE = ["washing", "unbelievable", "washington"]  # several pieces in the tiny WordPiece vocabulary


def sentences(count: int, seed: int = 0, words: tuple[int, int] = (4, 14)) -> list[str]:
    rng = random.Random(seed)
    pool = WORDS + MULTI_PIECE
    return [" ".join(rng.choice(pool) for _ in range(rng.randint(*words))) + " ." for _ in range(count)]


def write_text_corpus(path: Path, documents: int = 30, seed: int = 0) -> Path:
    """A .txt corpus: one sentence per line, a blank line between documents."""
    rng = random.Random(seed)
    blocks = [" \n".join(sentences(rng.randint(2, 7), seed=seed * 1000 + d)) for d in range(documents)]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def write_jsonl_corpus(path: Path, rows: int = 120, seed: int = 0) -> Path:
    lines = [json.dumps({"body": " ".join(sentences(3, seed=seed * 1000 + i))}) for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_recipe(path: Path, recipe: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path
