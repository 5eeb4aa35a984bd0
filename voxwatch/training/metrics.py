"""Detection metrics in plain numpy (no torch, no sklearn), convention: higher score = more likely fake.

Labels: 1 = fake (spoof, the positive class), 0 = real (bonafide). A score ``>= threshold`` is a "fake"
verdict, as in the daemon. False acceptance = a fake passed as real (miss, FNR); false rejection = real speech
flagged as fake (false alarm, FPR). The EER is where both rates are equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _split(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(int).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError("labels and scores differ in length")
    real, fake = scores[labels == 0], scores[labels == 1]
    if len(real) == 0 or len(fake) == 0:
        raise ValueError("need at least one real and one fake score")
    return real, fake


def error_rates(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds ascending, fpr, fnr) at every distinct score plus +inf (score >= t is "fake")."""
    real, fake = _split(labels, scores)
    thresholds = np.append(np.unique(np.concatenate([real, fake])), np.inf)
    real_sorted, fake_sorted = np.sort(real), np.sort(fake)
    fpr = 1.0 - np.searchsorted(real_sorted, thresholds, side="left") / len(real)
    fnr = np.searchsorted(fake_sorted, thresholds, side="left") / len(fake)
    return thresholds, fpr, fnr


def eer(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(equal error rate, threshold). The rate is linearly interpolated where FPR and FNR cross; the threshold
    lies midway between the two neighbouring scores, so ``score >= threshold`` gives the rates at the crossing."""
    t, fpr, fnr = error_rates(labels, scores)
    i = int(np.argmax(fnr >= fpr))  # fnr rises to 1 at +inf while fpr falls to 0, so such an i exists
    if i == 0:
        return float(fpr[0]), float(t[0])
    if fnr[i] == fpr[i]:
        rate = float(fpr[i])
    else:
        d0, d1 = fpr[i - 1] - fnr[i - 1], fnr[i] - fpr[i]
        a = d0 / (d0 + d1)
        rate = float(fpr[i - 1] + a * (fpr[i] - fpr[i - 1]))
    threshold = float(t[i - 1] + (t[i] - t[i - 1]) / 2) if np.isfinite(t[i]) else float(np.nextafter(t[i - 1], 2))
    return rate, threshold


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(fake scores above real), ties counting one half (Mann-Whitney U / n_real n_fake)."""
    real, fake = _split(labels, scores)
    real_sorted = np.sort(real)
    below = np.searchsorted(real_sorted, fake, side="left")
    equal = np.searchsorted(real_sorted, fake, side="right") - below
    return float((below.sum() + 0.5 * equal.sum()) / (len(real) * len(fake)))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) from the strictest to the loosest threshold."""
    _, fpr, fnr = error_rates(labels, scores)
    return fpr[::-1], (1.0 - fnr)[::-1]


@dataclass(frozen=True)
class Confusion:
    """Rows: true real / true fake; columns: predicted real / predicted fake."""

    tn: int
    fp: int
    fn: int
    tp: int

    @property
    def matrix(self) -> list[list[int]]:
        return [[self.tn, self.fp], [self.fn, self.tp]]

    @property
    def accuracy(self) -> float:
        total = self.tn + self.fp + self.fn + self.tp
        return (self.tn + self.tp) / total if total else 0.0

    def per_class(self) -> dict[str, dict[str, float]]:
        """Precision, recall and F1 of each class, treating it as the positive one."""

        def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            return {"precision": p, "recall": r, "f1": f, "support": tp + fn}

        return {"real": prf(self.tn, self.fn, self.fp), "fake": prf(self.tp, self.fp, self.fn)}


def confusion(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Confusion:
    labels = np.asarray(labels).astype(int).ravel()
    pred = np.asarray(scores, dtype=np.float64).ravel() >= threshold
    return Confusion(
        tn=int(np.sum((labels == 0) & ~pred)), fp=int(np.sum((labels == 0) & pred)),
        fn=int(np.sum((labels == 1) & ~pred)), tp=int(np.sum((labels == 1) & pred)),
    )


def clip_scores(window_scores: np.ndarray, clip_index: np.ndarray, n_clips: int, how: str = "mean") -> np.ndarray:
    """Clip score = ``aggregate_scores`` (the daemon's utterance rule) over the clip's windows; NaN if none."""
    from voxwatch.pipeline.decision import aggregate_scores

    out = np.full(n_clips, np.nan)
    order = np.argsort(clip_index, kind="stable")
    idx, scores = np.asarray(clip_index)[order], np.asarray(window_scores)[order]
    bounds = np.flatnonzero(np.diff(idx)) + 1
    for group_idx, group_scores in zip(np.split(idx, bounds), np.split(scores, bounds), strict=True):
        if len(group_idx):
            out[group_idx[0]] = aggregate_scores(group_scores, how)
    return out
