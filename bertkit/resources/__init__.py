"""Data files shipped inside the bertkit wheel.

``datasets/sentiment/`` holds a small, original, Apache-2.0 binary sentiment dataset (``train.jsonl`` and
``dev.jsonl``, rows ``{"text": ..., "label": "negative" | "positive"}``) used by the offline quickstart and
reachable in recipes as ``builtin:sentiment``. Find the files with
``importlib.resources.files("bertkit.resources") / "datasets" / "sentiment"``.
"""
