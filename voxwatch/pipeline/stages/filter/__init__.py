"""The filter stage: every speech window scored by a small CNN (features, card, ONNX session)."""
