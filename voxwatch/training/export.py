"""Checkpoint -> ONNX (+ optional INT8) with a parity check and the JSON model card.

Parity: the exported graph scores the run's dev windows (real inputs, not random noise) and its scores are
compared with torch's; a max abs difference above ``tolerance`` deletes the file and fails the export. INT8 uses
onnxruntime's static quantisation (QDQ, per-channel weights, activations calibrated on dev windows, the layers
that read the input kept float); its score
change against the float graph and its dev EER are reported and recorded in the card. The card's threshold is
the dev EER threshold of the exported graph itself (clip scores aggregated like the daemon does).
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.errors import ModelError
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.stages.cards import file_sha256
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.training import metrics
from voxwatch.training.featureset import FeatureSet

INPUT_NAME = "features"
OUTPUT_NAME = "fake_prob"


@dataclass
class ExportResult:
    """The written model and its card (the parity and INT8 figures are in ``card.metrics``)."""

    path: Path
    card: ModelCard


def to_onnx(module: Any, example: Any, path: Path, input_axes: dict[int, str]) -> None:
    """A torch module (features in, probability of fake out) as an ONNX graph, as both stages export theirs:
    opset 17, a dynamic batch (and the input's ``input_axes``), the TorchScript exporter."""
    import torch

    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notices are not for users
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (example,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: input_axes, OUTPUT_NAME: {0: "batch"}}, opset_version=17,
                          dynamo=False)


def ort_scores(path: Path, x: np.ndarray, batch_size: int = 256, output: str | None = None) -> np.ndarray:
    """Scores of windows ``x`` (N, frames, features) from the model's first output, or from tensor ``output``."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = None if output is None else [output]
    out = [session.run(outputs, {name: np.asarray(x[i : i + batch_size], np.float32)[:, None]})[0].reshape(-1)
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def dev_metrics(window_scores: np.ndarray, dev: FeatureSet, labels: np.ndarray) -> dict[str, float]:
    clip = metrics.clip_scores(window_scores, dev.clip, len(labels))
    ok = ~np.isnan(clip)
    rate, threshold = metrics.eer(labels[ok], clip[ok])
    return {"eer": rate, "threshold": threshold, "auc": metrics.roc_auc(labels[ok], clip[ok]),
            "window_eer": metrics.eer(dev.y, window_scores)[0], "clips": int(ok.sum())}


class _Calibration:
    """onnxruntime CalibrationDataReader over dev windows."""

    def __init__(self, x: np.ndarray, batch: int = 32) -> None:
        self._batches = iter([np.asarray(x[i : i + batch], np.float32)[:, None] for i in range(0, len(x), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def quantize_int8(float_path: Path, out_path: Path, calibration: np.ndarray) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(_Calibration, CalibrationDataReader):
        pass

    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        prepped = Path(tmp) / "prep.onnx"
        quant_pre_process(str(float_path), str(prepped))
        # The layers that read the input stay float: the mean-normalised log energies span tens of units, and
        # one int8 scale over them cost member C of the bundled ensemble a 0.21 mean score change (max 0.94)
        # against 0.003 (max 0.05) with its first convolution kept float.
        graph = onnx.load(str(prepped)).graph
        first = [node.name for node in graph.node if INPUT_NAME in node.input]
        quantize_static(str(prepped), str(out_path), Reader(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=first)


def finish_model(float_path: Path, out: Path, scores: np.ndarray, dev: FeatureSet, labels: np.ndarray,
                 int8: bool) -> tuple[dict[str, float], dict[str, Any]]:
    """Write ``out``: the float graph as it is, or its INT8 version (calibrated on 512 dev windows, score change
    and dev EER reported). Returns the written model's dev metrics and the INT8 figures ({} for float)."""
    float_dev = dev_metrics(scores, dev, labels)
    if not int8:
        out.write_bytes(float_path.read_bytes())
        return float_dev, {}
    rng = np.random.default_rng(0)
    calib = dev.x[np.sort(rng.choice(len(dev), min(len(dev), 512), replace=False))]
    quantize_int8(float_path, out, calib)
    q_scores = ort_scores(out, dev.x)
    change = np.abs(q_scores - scores)
    q_dev = dev_metrics(q_scores, dev, labels)
    print(f"int8: score change max {change.max():.4f}, mean {change.mean():.4f}; dev EER float "
          f"{100 * float_dev['eer']:.2f}% -> int8 {100 * q_dev['eer']:.2f}%")
    return q_dev, {"max_abs_score_change": float(change.max()), "mean_abs_score_change": float(change.mean()),
                   "dev_eer_float": float_dev["eer"], "dev_eer_int8": q_dev["eer"]}


def _load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    if not path.is_file():
        raise ModelError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise ModelError(f"{path}: cannot load checkpoint ({exc.__class__.__name__})") from None


@dataclass
class _Member:
    path: Path
    ckpt: dict[str, Any]


def _torch_scores(module: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = [module(torch.from_numpy(np.asarray(x[i : i + batch_size], np.float32))[:, None]).numpy()
               for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def export(checkpoint: Path | list[Path], out: Path, int8: bool = False, tolerance: float = 1e-4,
           model_id: str = "", max_parity_windows: int = 2048) -> ExportResult:
    """Export one checkpoint, or several as one ensemble graph (mean of their probabilities)."""
    import torch

    from voxwatch.training.model import MeanProbability, WithSigmoid, build

    paths = [Path(p) for p in (checkpoint if isinstance(checkpoint, list | tuple) else [checkpoint])]
    members = [_Member(p, _load_checkpoint(p)) for p in paths]
    checkpoint, ckpt = members[0].path, members[0].ckpt
    for m in members[1:]:
        if m.ckpt["features"] != ckpt["features"] or m.ckpt["window"] != ckpt["window"]:
            raise ModelError(f"{m.path}: feature or window settings differ from {checkpoint}'s; cannot ensemble")
    settings = FeatureSettings.from_dict(ckpt["features"])
    window_s = float(ckpt["window"]["window_s"])
    n_frames = settings.n_frames(int(round(window_s * SAMPLE_RATE)))
    dev_path = checkpoint.parent / ckpt["dev_set"]
    labels_path = checkpoint.parent / ckpt["dev_labels"]
    if not dev_path.is_file() or not labels_path.is_file():
        raise ModelError(f"{checkpoint}: its dev windows ({dev_path.name}, {labels_path.name}) are missing beside it")
    dev = FeatureSet.load(dev_path)
    dev_labels = np.load(labels_path)
    nets = []
    for m in members:
        try:
            net = build(m.ckpt["model_config"])
        except ValueError as exc:
            raise ModelError(f"{m.path}: {exc}") from None
        net.load_state_dict(m.ckpt["state_dict"])
        nets.append(net.eval())
    wrapped = (WithSigmoid(nets[0]) if len(nets) == 1 else MeanProbability(nets)).eval()

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        float_path = Path(tmp) / "float.onnx"
        to_onnx(wrapped, torch.from_numpy(np.asarray(dev.x[:2], np.float32))[:, None], float_path, {0: "batch"})
        torch_scores = _torch_scores(wrapped, dev.x)
        onnx_scores = ort_scores(float_path, dev.x)
        sample = slice(0, max_parity_windows)
        diff = float(np.max(np.abs(torch_scores[sample] - onnx_scores[sample])))
        print(f"parity: max |torch - onnxruntime| = {diff:.2e} over {min(len(dev), max_parity_windows)} dev windows "
              f"(tolerance {tolerance:.0e})")
        if not diff <= tolerance:
            raise ModelError(f"parity check failed: max abs diff {diff:.3g} > tolerance {tolerance:.3g}")
        final_dev, int8_info = finish_model(float_path, out, onnx_scores, dev, dev_labels, int8)
    sha = file_sha256(out)
    kind = f"ens{len(members)}-{settings.kind}" if len(members) > 1 else settings.kind
    arch = str(ckpt["model_config"].get("arch", "tinycnn"))
    model_id = model_id or f"{arch}-{kind}{'-int8' if int8 else ''}-{sha[:8]}"
    training = dict(ckpt.get("training", {}))
    if len(members) == 1:
        training.update({"epoch": ckpt.get("epoch"), "checkpoint": checkpoint.name, "model": ckpt["model_config"]})
    else:
        for key in ("train", "extract", "parameters", "train_windows"):
            training.pop(key, None)
        training["members"] = [
            {"checkpoint": f"{m.path.parent.name}/{m.path.name}", "epoch": m.ckpt.get("epoch"),
             "model": m.ckpt["model_config"], **{k: m.ckpt.get("training", {}).get(k)
                                                 for k in ("train", "extract", "parameters", "train_windows")},
             "dev": m.ckpt.get("dev")}
            for m in members
        ]
    card_metrics: dict[str, Any] = {"dev": final_dev, "parity_max_abs_diff": diff}
    if int8_info:
        card_metrics["int8"] = int8_info
    card = ModelCard(model_id=model_id, features=settings, window_s=window_s, n_frames=n_frames,
                     threshold=float(final_dev["threshold"]), onnx_sha256=sha, training=training,
                     metrics=card_metrics)
    card.save(out.with_suffix(".json"))
    return ExportResult(out, card)
