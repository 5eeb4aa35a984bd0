"""Window classifier: one onnxruntime session scoring batches of feature windows from many streams at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxwatch.errors import ModelError
from voxwatch.pipeline.stages.cards import open_model
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.features import FeatureSettings


def cpu_session(path: Path, threads: int):
    """An onnxruntime session on the CPU with ``threads`` intra-op threads and sequential execution: the one way
    the filter and the verifier are loaded, so a corrupt file is one ModelError line for both."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        raise ModelError(f"{path}: onnxruntime cannot load it: {exc}") from None


class OnnxClassifier:
    """Loads ``model.onnx`` + ``model.json`` and checks that the model fits the pipeline's settings.

    ``score(batch)`` takes (B, n_frames, n_features) float32 and returns (B,) probabilities of "fake".
    """

    def __init__(
        self,
        model_path: Path | str,
        features: FeatureSettings | None = None,
        window_s: float | None = None,
        threads: int = 1,
    ) -> None:
        self.path, self.card, self.sha256 = open_model(model_path, ModelCard.load)
        if features is not None and features != self.card.features:
            diffs = [
                f"{k}: model {v!r} vs pipeline {features.to_dict()[k]!r}"
                for k, v in self.card.features.to_dict().items()
                if features.to_dict()[k] != v
            ]
            raise ModelError(
                f"{self.path}: model feature settings (hash {self.card.feature_hash}) do not match the pipeline's "
                f"(hash {features.digest()}): " + "; ".join(diffs)
            )
        if window_s is not None and abs(window_s - self.card.window_s) > 1e-9:
            raise ModelError(f"{self.path}: model expects {self.card.window_s} s windows, pipeline uses {window_s} s")
        self._session = cpu_session(self.path, threads)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(self._session.get_outputs()) < 1:
            raise ModelError(f"{self.path}: expected one input and one output")
        self._input = inputs[0].name
        self._output = self._session.get_outputs()[0].name
        shape = inputs[0].shape
        if len(shape) != 4 or shape[2] not in (self.card.n_frames, None) and not isinstance(shape[2], str):
            raise ModelError(f"{self.path}: input shape {shape} does not fit (batch, 1, {self.card.n_frames}, F)")

    @property
    def model_id(self) -> str:
        return self.card.model_id

    @property
    def threshold(self) -> float:
        return self.card.threshold

    def score(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim == 2:
            batch = batch[None]
        if batch.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        out = self._session.run([self._output], {self._input: batch[:, None, :, :]})[0]
        return np.asarray(out, dtype=np.float32).reshape(batch.shape[0])
