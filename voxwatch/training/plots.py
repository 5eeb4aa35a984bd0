"""PNG figures (matplotlib, Agg backend: no display needed): learning curves, ROC, DET, score histograms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(plt, fig, ax, path: Path, xlabel: str, ylabel: str) -> None:
    """Labels, grid and legend of a one-panel figure, saved and closed."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, lw=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def learning_curves(history: list[dict[str, Any]], path: Path) -> None:
    plt = _plt()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=90)
    a.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    a.plot(epochs, [h["dev_loss"] for h in history], label="dev loss")
    a.set_xlabel("epoch")
    a.legend()
    b.plot(epochs, [100 * h["dev_eer"] for h in history], label="dev EER (clips)")
    b.plot(epochs, [100 * h["dev_window_eer"] for h in history], label="dev EER (windows)")
    b.set_xlabel("epoch")
    b.set_ylabel("%")
    b.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def roc_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 4), dpi=90)
    for name, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate (real flagged)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def det_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    """DET: miss rate vs false alarm rate on normal-deviate axes."""
    from scipy.stats import norm

    plt = _plt()
    ticks = np.array([0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4])
    fig, ax = plt.subplots(figsize=(4.2, 4), dpi=90)
    for name, (fpr, fnr) in curves.items():
        clip = np.clip
        ax.plot(norm.ppf(clip(fpr, 1e-4, 1 - 1e-4)), norm.ppf(clip(fnr, 1e-4, 1 - 1e-4)), label=name)
    ax.set_xticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    lim = norm.ppf([0.0005, 0.6])
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    _finish(plt, fig, ax, path, "false alarm rate (%)", "miss rate (%)")


def score_histogram(real: np.ndarray, fake: np.ndarray, threshold: float, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3), dpi=90)
    bins = np.linspace(0, 1, 41)
    ax.hist(real, bins=bins, alpha=0.6, label=f"real ({len(real)})")
    ax.hist(fake, bins=bins, alpha=0.6, label=f"fake ({len(fake)})")
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("clip score (probability of fake)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def alarm_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path,
               marks: dict[str, tuple[float, float]] | None = None) -> None:
    """What a user feels: false alarms per hour of real speech (log axis) against the fake-utterance miss rate,
    one curve per set; ``marks`` puts a dot at the shipped threshold of each."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4), dpi=90)
    for name, (fa_per_hour, miss) in curves.items():
        line, = ax.plot(np.maximum(fa_per_hour, 0.1), 100 * np.asarray(miss), label=name, drawstyle="steps-post")
        if marks and name in marks:
            fa, m = marks[name]
            ax.plot([max(fa, 0.1)], [100 * m], "o", color=line.get_color())
    ax.set_xscale("log")
    ax.set_xlim(0.1, 2000)
    ax.set_ylim(0, 100)
    _finish(plt, fig, ax, path, "false alarms per hour of real speech (0 drawn at 0.1)", "fake utterances missed (%)")
