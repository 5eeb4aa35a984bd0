"""Evaluation of an ONNX model on dataset splits, through onnxruntime (no torch needed).

Two views of every clip, per set (each dataset is reported apart):

* the daemon path (primary, voxwatch.training.alarms): each clip replayed as a stream through ``Detector``, the
  daemon's decision rules raising alerts; EER of the clips' flag scores, false alarms per hour of real speech and
  fake utterances caught at the threshold in use, with the generators training never saw apart;
* tiled clips (secondary): clips are windowed by the daemon's rules (voxwatch.training.windows), short clips
  tiled to a window, scored by ``OnnxClassifier`` (the daemon's classifier); a clip's score is
  ``aggregate_scores`` of its window scores (the daemon's utterance rule). Reported: EER with its threshold,
  ROC-AUC, and at the model card's threshold accuracy, confusion matrix, precision/recall/F1 per class; per
  source: EER against all clips of the other class and the detection rate (share of that source's clips given
  the right verdict).

``telephone`` adds a second pass with every clip band-limited to 8 kHz sampling (nothing above 4 kHz), which
shows whether the model just detects bandwidth.
"""

from __future__ import annotations

import csv
import json
import sys
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
    """One evaluation pass: clip scores plus the metrics computed from them, and the daemon path's summary."""

    name: str
    scores: np.ndarray
    summary: dict[str, Any]
    daemon: dict[str, Any] | None = None


@dataclass
class SetResult:
    """One dataset's evaluation: its clips and one ``Condition`` per pass (clean, telephone...)."""

    name: str
    data: str
    clips: list[Clip]
    conditions: list[Condition]


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


def headline(result: SetResult) -> list[str]:
    """One line per condition for the terminal: the daemon path first, the tiled clip figures after."""
    lines = []
    for c in result.conditions:
        s, d = c.summary, c.daemon
        daemon = (f"daemon-path EER {_pct(d['eer'])}  false alarms {d['false_alarms_per_hour']:.1f}/h  "
                  f"caught {_pct(d['catch_rate'])} of fake utterances; " if d else "")
        lines.append(f"{result.name} {c.name}: {daemon}clip EER (tiled) {_pct(s['eer'])}  ROC-AUC "
                     f"{s['roc_auc']:.4f}  accuracy {_pct(s['accuracy'])} at threshold {s['threshold']:.4f}  "
                     f"({s['real']} real / {s['fake']} fake clips)")
    return lines


def markdown_report(model: str, split: str, results: list[SetResult]) -> str:
    lines = [f"# voxwatch evaluation: {model}", "", f"Split `{split}` of each set, reported apart. Primary: the "
             "daemon path (each clip replayed as a stream, alerts by the daemon's decision rules). Secondary: "
             "tiled clips (clip score = mean of the clip's window scores; short clips tiled to a window). "
             "A score >= threshold is a \"fake\" verdict.", "",
             "| set | condition | daemon-path EER | false alarms / h | fake utterances caught | unseen caught | "
             "clip EER (tiled) | ROC-AUC | threshold |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for c in r.conditions:
            s, d = c.summary, c.daemon
            if d:
                unseen = d["unseen"]["catch_rate"]
                daemon = (f"**{_pct(d['eer'])}** | {d['false_alarms_per_hour']:.1f} | {_pct(d['catch_rate'])} | "
                          f"{'-' if unseen is None else _pct(unseen)}")
            else:
                daemon = "- | - | - | -"
            lines.append(f"| {r.name} | {c.name} | {daemon} | {_pct(s['eer'])} | {s['roc_auc']:.4f} | "
                         f"{s['threshold']:.4f} |")
    lines += ["", "False alarms per hour against missed fake utterances: `alarms.png`.", ""]
    for r in results:
        lines += [f"## {r.name}", "", f"Data: `{r.data}`.", ""]
        for c in r.conditions:
            if c.daemon:
                from voxwatch.training.alarms import markdown as daemon_markdown

                lines += daemon_markdown(f"{r.name}, {c.name}", c.daemon)
            s = c.summary
            m = s["confusion"]["matrix"]
            lines += [f"### {r.name}, {c.name}: tiled clips", "",
                      f"EER **{_pct(s['eer'])}** (threshold {s['eer_threshold']:.4f}), ROC-AUC {s['roc_auc']:.4f}; "
                      f"at the card threshold {s['threshold']:.4f}: accuracy {_pct(s['accuracy'])}.", "",
                      "Confusion matrix at the card threshold:", "",
                      "| | predicted real | predicted fake |", "|---|---|---|",
                      f"| true real | {m[0][0]} | {m[0][1]} |", f"| true fake | {m[1][0]} | {m[1][1]} |", "",
                      "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            for name, v in s["per_class"].items():
                lines.append(f"| {name} | {v['precision']:.4f} | {v['recall']:.4f} | {v['f1']:.4f} | "
                             f"{v['support']} |")
            lines += ["", "Per source (EER against all clips of the other class; detection rate = right verdicts "
                      "at the card threshold):", "", "| source | class | clips | EER | detection rate | mean score |",
                      "|---|---|---|---|---|---|"]
            for name, v in s["per_source"].items():
                lines.append(f"| {name} | {v['label']} | {v['clips']} | {_pct(v['eer'])} | "
                             f"{_pct(v['detection_rate'])} | {v['mean_score']:.3f} |")
            lines.append("")
        lines += [f"Figures: `{r.name}-roc.png`, `{r.name}-det.png`, `{r.name}-hist.png` (clean condition); scores "
                  f"per clip in `{r.name}-scores.csv`.", ""]
    return "\n".join(lines)


def write_report(report_dir: Path, model: str, split: str, results: list[SetResult]) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    payload = {"model": model, "split": split, "sets": {
        r.name: {"data": r.data, "conditions": {c.name: c.summary for c in r.conditions},
                 "daemon": {c.name: c.daemon for c in r.conditions if c.daemon}} for r in results}}
    (report_dir / "metrics.json").write_text(json.dumps(payload, indent=1) + "\n")
    for r in results:
        with open(report_dir / f"{r.name}-scores.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label", "source"] + [f"score_{c.name}" for c in r.conditions])
            for i, clip in enumerate(r.clips):
                writer.writerow([str(clip.path), clip.label_name, clip.source]
                                + [f"{c.scores[i]:.6f}" for c in r.conditions])
    report = report_dir / "report.md"
    report.write_text(markdown_report(model, split, results))
    try:
        _figures(report_dir, results)
    except ImportError:
        print("matplotlib missing (pip install matplotlib): report without PNG figures", file=sys.stderr)
    return report


def _figures(report_dir: Path, results: list[SetResult]) -> None:
    from voxwatch.training import plots

    curves, marks = {}, {}
    for r in results:
        labels = np.array([c.label for c in r.clips])
        roc, det = {}, {}
        for c in r.conditions:
            ok = ~np.isnan(c.scores)
            roc[c.name] = metrics.roc_curve(labels[ok], c.scores[ok])
            _, fpr, fnr = metrics.error_rates(labels[ok], c.scores[ok])
            det[c.name] = (fpr, fnr)
            if c.daemon:
                points = np.array(c.daemon["curve"], dtype=np.float64)
                curves[f"{r.name} {c.name}"] = (points[:, 1], 1.0 - points[:, 2])
                marks[f"{r.name} {c.name}"] = (c.daemon["false_alarms_per_hour"], 1.0 - c.daemon["catch_rate"])
        plots.roc_plot(roc, report_dir / f"{r.name}-roc.png")
        plots.det_plot(det, report_dir / f"{r.name}-det.png")
        first = r.conditions[0]
        ok = ~np.isnan(first.scores)
        plots.score_histogram(first.scores[ok & (labels == 0)], first.scores[ok & (labels == 1)],
                              first.summary["threshold"], report_dir / f"{r.name}-hist.png")
    if curves:
        plots.alarm_plot(curves, report_dir / "alarms.png", marks)
