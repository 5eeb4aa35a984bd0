"""The verifier stage: the cascade's utterance model behind the filter (features, card, ONNX session)."""
