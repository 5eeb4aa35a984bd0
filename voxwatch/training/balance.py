"""Loss weights of training windows (numpy): which windows teach the model what each class sounds like."""

from __future__ import annotations

import numpy as np


def window_weights(labels: np.ndarray, sources: np.ndarray, balance: str = "class") -> np.ndarray:
    """Loss weight of each training window (mean 1). ``class``: both classes weigh the same in total. ``source``:
    within a class, a source's total weight grows only with the square root of its window count, so that a few
    large sources (1-second command words, one digit speaker) do not teach the model what "real" sounds like
    and rarer long-form speech is not drowned."""
    labels = np.asarray(labels).astype(int)
    weights = np.zeros(len(labels), np.float64)
    for label in (0, 1):
        in_class = labels == label
        if not in_class.any():
            continue
        if balance == "source":
            names, index, counts = np.unique(sources[in_class], return_inverse=True, return_counts=True)
            per_window = np.sqrt(counts) / counts  # source total ~ sqrt(count)
            w = per_window[index]
        else:
            w = np.ones(int(in_class.sum()))
        weights[in_class] = w / w.sum() * len(labels) / 2  # each class half of the total
    return weights
