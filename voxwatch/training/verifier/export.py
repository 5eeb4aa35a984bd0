"""Verifier network -> ONNX (opset 17, dynamic batch and frames) with a parity check and its card.

The card's ``gate`` and ``threshold`` come from ``operating.operating_point`` (dev, the daemon's rules);
``voxwatch calibrate`` can move the threshold later for a site's false-alarm budget.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from voxwatch.errors import ModelError
from voxwatch.pipeline.stages.cards import file_sha256
from voxwatch.pipeline.stages.verifier.card import VerifierCard
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.training import metrics
from voxwatch.training.export import to_onnx
from voxwatch.training.model import WithSigmoid
from voxwatch.training.verifier.data import UtteranceSet


def ort_utterance_scores(path: Path, data: UtteranceSet) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.array([float(session.run(None, {name: data.item(i).astype(np.float32)[None, None]})[0].reshape(-1)[0])
                     for i in range(len(data))], np.float32)


def export(net: torch.nn.Module, out: Path, features: VerifierFeatureSettings, dev: UtteranceSet,
           training: dict[str, Any], choose: Callable[[OnnxVerifier], dict[str, Any]],
           tolerance: float = 1e-4, kind: str = "resnet") -> VerifierCard:
    """Write ``out`` (+ its card, model id ``verifier-KIND-<sha>``); ``choose(verifier)`` gives the operating
    point (gate, threshold, filter)."""
    wrapped = WithSigmoid(net).eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / "verifier.onnx"
        to_onnx(wrapped, torch.from_numpy(dev.item(0).astype(np.float32))[None, None], tmp_path,
                {0: "batch", 2: "frames"})
        onnx_scores = ort_utterance_scores(tmp_path, dev)
        with torch.no_grad():
            sample = range(min(64, len(dev)))
            torch_scores = np.array([float(wrapped(torch.from_numpy(dev.item(i).astype(np.float32))[None, None]))
                                     for i in sample])
        diff = float(np.max(np.abs(torch_scores - onnx_scores[: len(torch_scores)])))
        if not diff <= tolerance:
            raise ModelError(f"verifier parity check failed: max abs diff {diff:.3g} > {tolerance:.3g}")
        out.write_bytes(tmp_path.read_bytes())
    labels = dev.y.astype(int)
    eer_all, thr_all = metrics.eer(labels, onnx_scores)
    sha = file_sha256(out)
    provisional = VerifierCard(f"verifier-{kind}-{sha[:8]}", features, onnx_sha256=sha)
    provisional.save(out.with_suffix(".json"))
    point = choose(OnnxVerifier(out))
    card = VerifierCard(
        model_id=provisional.model_id, features=features, threshold=float(point["threshold"]),
        gate=float(point["gate"]), onnx_sha256=sha, filter=point["filter"], fusion=point.get("fusion", {}),
        training=training,
        metrics={"dev": {"utterance_eer": eer_all, "utterance_eer_threshold": thr_all,
                         "auc": metrics.roc_auc(labels, onnx_scores),
                         **{k: v for k, v in point.items() if k not in ("gate", "threshold", "filter", "fusion")}},
                 "parity_max_abs_diff": diff})
    card.save(out.with_suffix(".json"))
    return card


def card_summary(card: VerifierCard) -> dict[str, Any]:
    """What a run prints once its card is written: the model id, gate, threshold and the dev figures."""
    return {"model_id": card.model_id, "gate": card.gate, "threshold": card.threshold, **card.metrics["dev"]}
