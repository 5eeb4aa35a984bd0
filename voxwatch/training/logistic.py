"""Class-balanced logistic regression of a label on a few scores: how both of voxwatch's fusions are fitted (the
verifier's with the filter: ``voxwatch.training.verifier.operating``; clone watch's with the verifier:
``voxwatch.voices.fusion``). numpy only, so the onnxruntime-only evaluations can fit too."""

from __future__ import annotations

import numpy as np


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), p clipped to [1e-6, 1 - 1e-6] (the cascade's own clipping)."""
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def balanced_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Weights (one per column of ``features``, then the bias) of a logistic regression of ``labels`` (0/1), each
    class weighted to half the total so that the rarer one counts as much; Newton steps, a little L2 on the
    weights (not the bias) so that separable data still gives finite weights."""
    x = np.c_[np.asarray(features, float), np.ones(len(labels))]
    y = np.asarray(labels, float)
    n = x.shape[1]
    n_pos = max(1.0, y.sum())
    n_neg = max(1.0, len(y) - y.sum())
    weight = np.where(y == 1, len(y) / (2 * n_pos), len(y) / (2 * n_neg))
    penalty = l2 * np.diag([1.0] * (n - 1) + [0.0])
    w = np.zeros(n)
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (weight * (p - y)) + penalty @ w
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x + penalty + 1e-9 * np.eye(n)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w
