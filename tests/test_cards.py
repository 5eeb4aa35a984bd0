"""One card loader for both stages: the filter's and the verifier's cards fail alike, one ModelError line each."""

import json

import pytest
from helpers import build_mean_model, build_verifier_model

from voxwatch.errors import ModelError
from voxwatch.pipeline.stages import cards
from voxwatch.pipeline.stages.filter.card import ModelCard
from voxwatch.pipeline.stages.filter.session import OnnxClassifier
from voxwatch.pipeline.stages.verifier.card import VerifierCard
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier

STAGES = [(build_mean_model, OnnxClassifier, ModelCard, "model card"),
          (build_verifier_model, OnnxVerifier, VerifierCard, "verifier card")]


def _edit(card_file, **changes):
    data = json.loads(card_file.read_text())
    data.update(changes)
    card_file.write_text(json.dumps(data))
    return data


@pytest.mark.parametrize(("build", "session", "card_type", "what"), STAGES)
def test_both_stages_read_their_card_through_the_one_loader(tmp_path, build, session, card_type, what):
    path = build(tmp_path / "m.onnx")
    loaded = session(path)
    assert loaded.card == card_type.load(cards.card_path(path)) and loaded.sha256 == cards.file_sha256(path)
    card_file = cards.card_path(path)
    _edit(card_file, feature_hash="0000")
    with pytest.raises(ModelError, match=r"m\.json: feature_hash 0000 does not match its own feature settings"):
        session(path)
    card_file.write_text("{not json")
    with pytest.raises(ModelError, match=rf"m\.json: cannot read {what}"):
        session(path)
    card_file.unlink()
    with pytest.raises(ModelError, match=rf"m\.json: {what} not found"):
        session(path)
    with pytest.raises(ModelError, match=r"missing\.onnx: .*file not found"):
        session(tmp_path / "missing.onnx")


@pytest.mark.parametrize(("build", "session", "card_type", "what"), STAGES)
def test_a_card_of_another_file_or_with_missing_fields_is_one_line(tmp_path, build, session, card_type, what):
    path = build(tmp_path / "m.onnx")
    card_file = cards.card_path(path)
    data = _edit(card_file, onnx_sha256="f" * 64)
    with pytest.raises(ModelError, match="sha256 .* differs from its card's ffffffffffff.* another model file"):
        session(path)
    del data["model_id"]
    card_file.write_text(json.dumps(data))
    with pytest.raises(ModelError, match=rf"invalid {what} \(KeyError: 'model_id'\)"):
        card_type.load(card_file)


def test_settings_no_voxwatch_can_run_and_a_partial_fusion_are_model_errors(tmp_path):
    card_file = cards.card_path(build_verifier_model(tmp_path / "v.onnx"))
    data = _edit(card_file, fusion={"filter": 1.0})
    with pytest.raises(ModelError, match="invalid verifier card .*fusion needs exactly the weights"):
        VerifierCard.load(card_file)
    data["fusion"] = {}
    data["features"]["loudness"] = 1
    card_file.write_text(json.dumps(data))
    with pytest.raises(ModelError, match=r"v\.json: unknown verifier feature settings: loudness"):
        VerifierCard.load(card_file)

