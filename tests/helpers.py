"""Test helpers: synthetic audio and small hand-built ONNX models (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import soundfile as sf
from onnx import TensorProto, helper

from voxwatch.models.card import ModelCard, file_sha256
from voxwatch.pipeline.features import FeatureSettings

SR = 16000

# Feature settings for tests whose model reacts to loudness: without per-window normalisation the mean log
# filterbank energy follows the signal level, which a two-node ONNX graph can turn into a score.
LOUDNESS_FEATURES = FeatureSettings(normalize="none")


def build_mean_model(path: Path, features: FeatureSettings = LOUDNESS_FEATURES, window_s: float = 2.0,
                     scale: float = 1.0, offset: float = -8.0, threshold: float = 0.5,
                     model_id: str = "test-mean") -> Path:
    """score = sigmoid(scale * (mean(features) - offset)), with a card; returns the .onnx path."""
    n_frames = features.n_frames(int(window_s * SR))
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1, n_frames, features.n_features])
    y = helper.make_tensor_value_info("fake_prob", TensorProto.FLOAT, ["batch"])
    nodes = [
        helper.make_node("ReduceMean", ["features"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Sub", ["m", "offset"], ["d"]),
        helper.make_node("Mul", ["d", "scale"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["fake_prob"]),
    ]
    inits = [helper.make_tensor("offset", TensorProto.FLOAT, [], [offset]),
             helper.make_tensor("scale", TensorProto.FLOAT, [], [scale])]
    graph = helper.make_graph(nodes, "mean_model", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = Path(path)
    onnx.save(model, path)
    ModelCard(model_id, features, window_s, n_frames, threshold, onnx_sha256=file_sha256(path)).save(
        path.with_suffix(".json"))
    return path


def speech_like(seconds: float, level: float = 0.3, seed: int = 0, f0: float = 140.0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal that webrtcvad takes for speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, np.pi))
    noise = rng.standard_normal(len(t)) * 0.02
    x = voiced * envelope + noise
    return (level * x / np.abs(x).max()).astype(np.float32)


def silence(seconds: float, level: float = 0.0005, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * level).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, rate: int = SR) -> Path:
    sf.write(str(path), audio, rate, subtype="PCM_16")
    return Path(path)
