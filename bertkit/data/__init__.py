"""Datasets for training and evaluation: hub or local files, mapped to each task's canonical fields.

``load_splits(recipe)`` is the entry point; ``bertkit.data.labels`` has the class-list and encoding helpers.
Heavy libraries (datasets, pyarrow) are imported inside functions.
"""

from bertkit.data.splits import DataSplits, load_splits

__all__ = ["DataSplits", "load_splits"]
