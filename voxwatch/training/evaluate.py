"""Evaluation of an ONNX model on a dataset split, through onnxruntime (no torch needed).

Clips are windowed by the daemon's rules (voxwatch.training.windows), scored by ``OnnxClassifier`` (the daemon's
classifier) and each clip's score is ``aggregate_scores`` of its window scores (the daemon's utterance rule).
Reported: EER (primary) with its threshold, ROC-AUC, and at the model card's threshold accuracy, confusion
matrix, precision/recall/F1 per class; per source: EER against all clips of the other class and the detection
rate (share of that source's clips given the right verdict). ``telephone`` adds a second pass with every clip
band-limited to 8 kHz sampling (nothing above 4 kHz), which shows whether the model just detects bandwidth.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.pipeline.classifier import OnnxClassifier
from voxwatch.pipeline.vad import VadSettings
from voxwatch.pipeline.windower import WindowSettings
from voxwatch.training import metrics
from voxwatch.training.datasets import Clip
from voxwatch.training.featureset import ExtractSettings, extract


@dataclass
class Condition:
    """One evaluation pass: clip scores plus the metrics computed from them."""

    name: str
    scores: np.ndarray
    summary: dict[str, Any]


def score_clips(classifier: OnnxClassifier, clips: list[Clip], window: WindowSettings, vad: VadSettings,
                aggregate: str = "mean", bandlimit: int = 0, workers: int | None = None,
                batch_size: int = 256) -> np.ndarray:
    settings = ExtractSettings(features=classifier.card.features, window=window, vad=vad, bandlimit=bandlimit)
    fs = extract(clips, settings, workers, "features" + (f" ({bandlimit} Hz)" if bandlimit else ""))
    window_scores = np.concatenate([classifier.score(fs.x[i : i + batch_size].astype(np.float32))
                                    for i in range(0, len(fs), batch_size)]) if len(fs) else np.zeros(0)
    return metrics.clip_scores(window_scores, fs.clip, len(clips), aggregate)


def summarize_scores(clips: list[Clip], scores: np.ndarray, threshold: float) -> dict[str, Any]:
    labels = np.array([c.label for c in clips])
    ok = ~np.isnan(scores)
    labels, scores_ok = labels[ok], scores[ok]
    sources = np.array([c.source for c in clips])[ok]
    rate, eer_threshold = metrics.eer(labels, scores_ok)
    conf = metrics.confusion(labels, scores_ok, threshold)
    per_source = {}
    for source in sorted(set(sources)):
        mask = sources == source
        label = int(labels[mask][0])
        other = labels != label
        sel = mask | other
        verdict_ok = (scores_ok[mask] >= threshold) == bool(label)
        per_source[source] = {
            "label": "fake" if label else "real", "clips": int(mask.sum()),
            "eer": metrics.eer(labels[sel], scores_ok[sel])[0],
            "detection_rate": float(verdict_ok.mean()), "mean_score": float(scores_ok[mask].mean()),
        }
    return {
        "clips": int(ok.sum()), "unscored_clips": int((~ok).sum()), "real": int((labels == 0).sum()),
        "fake": int((labels == 1).sum()), "eer": rate, "eer_threshold": eer_threshold,
        "roc_auc": metrics.roc_auc(labels, scores_ok), "threshold": threshold, "accuracy": conf.accuracy,
        "confusion": {"rows": "true real, true fake", "columns": "predicted real, predicted fake",
                      "matrix": conf.matrix},
        "per_class": conf.per_class(), "per_source": per_source,
    }


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def markdown_report(model: str, data: str, split: str, conditions: list[Condition]) -> str:
    lines = [f"# voxwatch evaluation: {model}", "", f"Data: `{data}`, split `{split}`. Clip score = mean of the "
             "clip's window scores (the daemon's utterance rule). A score >= threshold is a \"fake\" verdict.", ""]
    lines += ["| condition | clips (real/fake) | EER | EER threshold | ROC-AUC | threshold (card) | accuracy |",
              "|---|---|---|---|---|---|---|"]
    for c in conditions:
        s = c.summary
        lines.append(f"| {c.name} | {s['clips']} ({s['real']}/{s['fake']}) | **{_pct(s['eer'])}** | "
                     f"{s['eer_threshold']:.4f} | {s['roc_auc']:.4f} | {s['threshold']:.4f} | {_pct(s['accuracy'])} |")
    for c in conditions:
        s = c.summary
        m = s["confusion"]["matrix"]
        lines += ["", f"## {c.name}", "", "Confusion matrix at the card threshold:", "",
                  "| | predicted real | predicted fake |", "|---|---|---|",
                  f"| true real | {m[0][0]} | {m[0][1]} |", f"| true fake | {m[1][0]} | {m[1][1]} |", "",
                  "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for name, v in s["per_class"].items():
            lines.append(f"| {name} | {v['precision']:.4f} | {v['recall']:.4f} | {v['f1']:.4f} | {v['support']} |")
        lines += ["", "Per source (EER against all clips of the other class; detection rate = right verdicts "
                  "at the card threshold):", "", "| source | class | clips | EER | detection rate | mean score |",
                  "|---|---|---|---|---|---|"]
        for name, v in s["per_source"].items():
            lines.append(f"| {name} | {v['label']} | {v['clips']} | {_pct(v['eer'])} | {_pct(v['detection_rate'])} "
                         f"| {v['mean_score']:.3f} |")
    lines += ["", "Figures: `roc.png`, `det.png`, `hist.png` (clean condition); scores per clip in `scores.csv`.",
              ""]
    return "\n".join(lines)


def write_report(report_dir: Path, model: str, data: str, split: str, clips: list[Clip],
                 conditions: list[Condition]) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    payload = {"model": model, "data": data, "split": split, "conditions": {c.name: c.summary for c in conditions}}
    (report_dir / "metrics.json").write_text(json.dumps(payload, indent=1) + "\n")
    with open(report_dir / "scores.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "source"] + [f"score_{c.name}" for c in conditions])
        for i, clip in enumerate(clips):
            writer.writerow([str(clip.path), clip.label_name, clip.source]
                            + [f"{c.scores[i]:.6f}" for c in conditions])
    report = report_dir / "report.md"
    report.write_text(markdown_report(model, data, split, conditions))
    try:
        from voxwatch.training import plots
    except ImportError:  # pragma: no cover - plots only import numpy at module level
        return report
    labels = np.array([c.label for c in clips])
    try:
        roc, det = {}, {}
        for c in conditions:
            ok = ~np.isnan(c.scores)
            roc[c.name] = metrics.roc_curve(labels[ok], c.scores[ok])
            _, fpr, fnr = metrics.error_rates(labels[ok], c.scores[ok])
            det[c.name] = (fpr, fnr)
        plots.roc_plot(roc, report_dir / "roc.png")
        plots.det_plot(det, report_dir / "det.png")
        first = conditions[0]
        ok = ~np.isnan(first.scores)
        plots.score_histogram(first.scores[ok & (labels == 0)], first.scores[ok & (labels == 1)],
                              first.summary["threshold"], report_dir / "hist.png")
    except ImportError:
        print("matplotlib missing: report without PNG figures")
    return report
