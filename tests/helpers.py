"""Test helpers: synthetic audio and small hand-built ONNX models (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import soundfile as sf
from onnx import TensorProto, helper

from voxwatch.bench.workload import speech_like  # noqa: F401 (the tests' speech, shared with the benchmark)
from voxwatch.pipeline.samplerate import SAMPLE_RATE as SR
from voxwatch.pipeline.stages.cards import file_sha256
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.verifier.card import VerifierCard
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings

# Feature settings for tests whose model reacts to loudness: without per-window normalisation the mean log
# filterbank energy follows the signal level, which a two-node ONNX graph can turn into a score.
LOUDNESS_FEATURES = FeatureSettings(kind="logfbank", nfilt=40, normalize="none")
LOUDNESS_TOML = '[features]\nkind = "logfbank"\nnfilt = 40\nnormalize = "none"\n'  # the same in a config file


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


# A verifier for plumbing tests: without normalisation its mean log energy follows the level, like the filter's.
LOUDNESS_VERIFIER_FEATURES = VerifierFeatureSettings(spectrum=LOUDNESS_FEATURES, max_s=8.0, min_s=2.0)


def build_verifier_model(path: Path, scale: float = 2.0, offset: float = -7.0, gate: float = 0.5,
                         threshold: float = 0.5, features: VerifierFeatureSettings = LOUDNESS_VERIFIER_FEATURES,
                         model_id: str = "test-verifier", filter_sha256: str = "") -> Path:
    """A tiny verifier: score = sigmoid(scale * (mean(features) - offset)) over any number of frames."""
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1, "frames", features.n_features])
    y = helper.make_tensor_value_info("fake_prob", TensorProto.FLOAT, ["batch"])
    nodes = [
        helper.make_node("ReduceMean", ["features"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Sub", ["m", "offset"], ["d"]),
        helper.make_node("Mul", ["d", "scale"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["fake_prob"]),
    ]
    inits = [helper.make_tensor("offset", TensorProto.FLOAT, [], [offset]),
             helper.make_tensor("scale", TensorProto.FLOAT, [], [scale])]
    model = helper.make_model(helper.make_graph(nodes, "verifier", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = Path(path)
    onnx.save(model, path)
    VerifierCard(model_id, features, threshold=threshold, gate=gate, onnx_sha256=file_sha256(path),
                 filter={"sha256": filter_sha256} if filter_sha256 else {}).save(path.with_suffix(".json"))
    return path


def silence(seconds: float, level: float = 0.0005, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * level).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, rate: int = SR) -> Path:
    sf.write(str(path), audio, rate, subtype="PCM_16")
    return Path(path)
