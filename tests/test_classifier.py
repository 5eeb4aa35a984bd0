import json

import numpy as np
import pytest
from helpers import LOUDNESS_FEATURES, build_mean_model

from voxwatch.errors import ModelError
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.filter.session import OnnxClassifier


def test_scores_a_batch_in_one_call(tmp_path):
    path = build_mean_model(tmp_path / "m.onnx", scale=1.0, offset=0.0)
    clf = OnnxClassifier(path, LOUDNESS_FEATURES, 2.0)
    batch = np.stack([np.full((198, 40), v, np.float32) for v in (-3.0, 0.0, 3.0)])
    scores = clf.score(batch)
    assert scores.shape == (3,)
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-np.array([-3.0, 0.0, 3.0]))), rtol=1e-5)
    assert clf.score(np.zeros((0, 198, 40), np.float32)).shape == (0,)
    assert clf.model_id == "test-mean" and len(clf.sha256) == 64


def test_refuses_model_with_other_feature_settings(tmp_path):
    path = build_mean_model(tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="normalize: model 'none' vs pipeline 'cmn'"):
        OnnxClassifier(path, FeatureSettings(), 2.0)
    with pytest.raises(ModelError, match="expects 2.0 s windows, pipeline uses 1.5 s"):
        OnnxClassifier(path, LOUDNESS_FEATURES, 1.5)


def test_card_problems_are_clear(tmp_path):
    path = build_mean_model(tmp_path / "m.onnx")
    card = tmp_path / "m.json"
    data = json.loads(card.read_text())
    data["feature_hash"] = "0000"
    card.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="does not match its own feature settings"):
        OnnxClassifier(path)
    card.unlink()
    with pytest.raises(ModelError, match="card not found"):
        OnnxClassifier(path)
    with pytest.raises(ModelError, match="not found"):
        OnnxClassifier(tmp_path / "missing.onnx")


def test_card_sha_mismatch_and_corrupt_onnx(tmp_path):
    path = build_mean_model(tmp_path / "m.onnx")
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelError, match="sha256"):
        OnnxClassifier(path)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    ModelCard("bad", LOUDNESS_FEATURES, 2.0, 198).save(tmp_path / "bad.json")
    with pytest.raises(ModelError, match="onnxruntime cannot load"):
        OnnxClassifier(bad)


def test_card_roundtrip(tmp_path):
    card = ModelCard("x", FeatureSettings(kind="mfcc"), 2.0, 198, threshold=0.3, metrics={"eer": 0.01})
    card.save(tmp_path / "x.json")
    loaded = ModelCard.load(tmp_path / "x.json")
    assert loaded == card and loaded.feature_hash == FeatureSettings(kind="mfcc").digest()
