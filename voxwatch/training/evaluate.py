"""Evaluation of an ONNX model on dataset splits, through onnxruntime (no torch needed).

Two views of every clip, per set (each dataset is reported apart):

* the daemon path (primary, voxwatch.training.alarms): each clip replayed as a stream through ``Detector``, the
  daemon's decision rules raising alerts; EER of the clips' flag scores, false alarms per hour of real speech and
  fake utterances caught at the threshold in use, with the generators training never saw apart;
* the cascade (when a verifier is given): the same streams with the verifier judging the utterances that reach
  the gate, against the filter alone: EER, false alarms per hour, fake utterances caught, the share of uncertain
  verdicts, and each one's best catch rate within a false-alarm budget (default 2 per hour); both curves go on
  the DET and false-alarm plots;
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

from voxwatch.pipeline.stages.filter.session import OnnxClassifier
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
    cascade: dict[str, Any] | None = None  # the daemon path with the verifier behind the filter


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
        if c.cascade and d:
            k = c.cascade
            lines.append(f"{result.name} {c.name} cascade: EER {_pct(k['eer'])}  false alarms "
                         f"{k['false_alarms_per_hour']:.1f}/h  caught {_pct(k['catch_rate'])}  uncertain "
                         f"{_pct(k['uncertain_share'])}; within {k['budget_per_hour']:g} false alarms/h: cascade "
                         f"catches {_pct(k['catch_at_budget'])}, filter alone {_pct(d['catch_at_budget'])}")
    return lines


def cascade_markdown(results: list[SetResult], verifier: str) -> list[str]:
    """The filter alone against the cascade, one row each per set and condition."""
    rows = [(r, c) for r in results for c in r.conditions if c.cascade and c.daemon]
    if not rows:
        return []
    budget = rows[0][1].cascade["budget_per_hour"]  # type: ignore[index]
    lines = [f"## Filter alone against the cascade (verifier `{verifier}`)", "",
             "Each clip replayed as a stream; the cascade's verifier judges the utterances whose filter score "
             "reaches its gate. `caught within budget`: the best share of fake utterances caught by any threshold "
             f"(the filter's, or the verifier's at the gate) with at most {budget:g} false alarms per hour of the "
             "set's real speech, read off the curves in `alarms.png`.", "",
             "| set | condition | stage | EER | false alarms / h | fake utterances caught | uncertain | "
             f"caught within {budget:g} FA/h | threshold |", "|---|---|---|---|---|---|---|---|---|"]
    for r, c in rows:
        for stage, s in (("filter alone", c.daemon), ("cascade", c.cascade)):
            assert s is not None
            gate = f" (gate {s['gate']:.3f})" if s.get("gate") is not None else ""
            lines.append(f"| {r.name} | {c.name} | {stage} | {_pct(s['eer'])} | {s['false_alarms_per_hour']:.1f} | "
                         f"{_pct(s['catch_rate'])} | {_pct(s.get('uncertain_share', 0.0))} | "
                         f"**{_pct(s['catch_at_budget'])}** | {s['threshold']:.4f}{gate} |")
    return lines + [""]


def markdown_report(model: str, split: str, results: list[SetResult], verifier: str = "") -> str:
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
    lines += cascade_markdown(results, verifier)
    for r in results:
        lines += [f"## {r.name}", "", f"Data: `{r.data}`.", ""]
        for c in r.conditions:
            if c.daemon:

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


def write_report(report_dir: Path, model: str, split: str, results: list[SetResult], verifier: str = "") -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    payload = {"model": model, "verifier": verifier or None, "split": split, "sets": {
        r.name: {"data": r.data, "conditions": {c.name: c.summary for c in r.conditions},
                 "daemon": {c.name: c.daemon for c in r.conditions if c.daemon},
                 "cascade": {c.name: c.cascade for c in r.conditions if c.cascade}} for r in results}}
    (report_dir / "metrics.json").write_text(json.dumps(payload, indent=1) + "\n")
    for r in results:
        with open(report_dir / f"{r.name}-scores.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label", "source"] + [f"score_{c.name}" for c in r.conditions])
            for i, clip in enumerate(r.clips):
                writer.writerow([str(clip.path), clip.label_name, clip.source]
                                + [f"{c.scores[i]:.6f}" for c in r.conditions])
    report = report_dir / "report.md"
    report.write_text(markdown_report(model, split, results, verifier))
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
            for stage, summary in (("", c.daemon), (" cascade", c.cascade)):
                if not summary:
                    continue
                points = np.array(summary["curve"], dtype=np.float64)
                curves[f"{r.name} {c.name}{stage}"] = (points[:, 1], 1.0 - points[:, 2])
                marks[f"{r.name} {c.name}{stage}"] = (summary["false_alarms_per_hour"], 1.0 - summary["catch_rate"])
            if c.cascade and c.daemon:  # both daemon-path curves on the DET plot: clip flag scores
                for stage, summary in (("filter", c.daemon), ("cascade", c.cascade)):
                    det[f"{c.name} {stage} (daemon path)"] = _flag_det(summary, labels)
        plots.roc_plot(roc, report_dir / f"{r.name}-roc.png")
        plots.det_plot(det, report_dir / f"{r.name}-det.png")
        first = r.conditions[0]
        ok = ~np.isnan(first.scores)
        plots.score_histogram(first.scores[ok & (labels == 0)], first.scores[ok & (labels == 1)],
                              first.summary["threshold"], report_dir / f"{r.name}-hist.png")
    if curves:
        plots.alarm_plot(curves, report_dir / "alarms.png", marks)


def _flag_det(summary: dict[str, Any], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, miss rate) of a daemon-path sweep, over clips: from its stored clip flag scores."""
    flags = np.asarray(summary["flag_scores"], dtype=np.float64)
    _, fpr, fnr = metrics.error_rates(labels, flags)
    return fpr, fnr


def daemon_markdown(name: str, s: dict) -> list[str]:
    """Report lines for one set's daemon-path summary."""
    def pct(x: float | None) -> str:
        return "-" if x is None or x != x else f"{100 * x:.1f}%"

    lines = [f"### {name}: the daemon path", "",
             f"Each clip replayed as a stream (VAD, windows, decision rules of `run`; short clips are not tiled). "
             f"At the threshold {s['threshold']:.4f}:", "",
             "| daemon-path EER | false alarms / hour of real speech | fake utterances caught | unseen generators "
             "caught |", "|---|---|---|---|",
             f"| **{pct(s['eer'])}** | **{s['false_alarms_per_hour']:.1f}** ({s['false_alarms']} in "
             f"{60 * s['real_hours']:.1f} min) | **{pct(s['catch_rate'])}** ({s['caught']}/{s['fake_utterances']}) | "
             f"{pct(s['unseen']['catch_rate'])} ({', '.join(s['unseen']['sources']) or 'none'}) |", "",
             f"Clips with no judged utterance (too short for a window, or no speech found): "
             f"{s['real_clips_unjudged']} real, {s['fake_clips_unjudged']} fake.", "",
             "| fake source | utterances | caught |", "|---|---|---|"]
    for source, v in s["per_source"].items():
        lines.append(f"| {source}{' (unseen in training)' if v['unseen'] else ''} | {v['utterances']} | "
                     f"{pct(v['catch_rate'])} |")
    return lines + [""]
