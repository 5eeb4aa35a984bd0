"""The voice stage: a speaker encoder (Resemblyzer's GE2E, exported to ONNX) that turns speech into a 256-d voice
embedding, for clone watch (``voxwatch.voices``): features, card and ONNX session."""
