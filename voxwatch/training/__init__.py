"""Training, evaluation and export of the detector (needs the ``train`` extra: torch, onnx, matplotlib)."""
