"""``python -m lab.member``: one member of an exported ensemble as a model of its own (it was ``voxwatch export
--member`` until issue 35)."""

import json

import numpy as np
import pytest

from lab.member import main as member_main
from voxwatch.cli import main
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.filter.session import OnnxClassifier


def test_a_member_is_cut_out_of_an_ensemble(trained, tiny_corpus, tmp_path, capsys):
    """The bundled model was made this way: member K alone scores exactly like K's own export; card re-made."""
    first = sorted(trained.glob("epoch*.pt"))[0]
    ens, alone, cut = tmp_path / "ens.onnx", tmp_path / "alone.onnx", tmp_path / "cut.onnx"
    assert main(["export", str(trained / "best.pt"), str(first), "--out", str(ens)]) == 0
    assert main(["export", str(first), "--out", str(alone)]) == 0
    capsys.readouterr()
    assert member_main([str(ens), "--member", "1", "--data", str(tiny_corpus), "--out", str(cut)]) == 0
    assert "parity: max |member alone - member inside the ensemble| = 0.00e+00" in capsys.readouterr().out
    x = np.random.default_rng(0).standard_normal((6, 198, FeatureSettings().n_features)).astype(np.float32)
    np.testing.assert_allclose(OnnxClassifier(cut, FeatureSettings(), 2.0).score(x),
                               OnnxClassifier(alone).score(x), atol=1e-5)
    assert np.abs(OnnxClassifier(cut).score(x) - OnnxClassifier(ens).score(x)).max() > 1e-6  # not the mean
    card = json.loads(cut.with_suffix(".json").read_text())
    assert card["model_id"].startswith(f"tinycnn-{FeatureSettings().kind}-") and "members" not in card["training"]
    assert card["training"]["checkpoint"] == f"{first.parent.name}/{first.name}"
    assert card["training"]["extracted_from"]["member"] == 1
    assert card["metrics"]["parity_max_abs_diff"] == 0.0 and 0.0 <= card["threshold"] <= 1.0
    assert card["metrics"]["dev"]["clips"] == 4


def test_cutting_a_member_refuses_bad_input(trained, tiny_corpus, tmp_path, capsys):
    ens, single = tmp_path / "ens.onnx", tmp_path / "single.onnx"
    assert main(["export", str(trained / "best.pt"), str(trained / "best.pt"), "--out", str(ens)]) == 0
    assert main(["export", str(trained / "best.pt"), "--out", str(single)]) == 0
    capsys.readouterr()
    out = tmp_path / "x.onnx"
    assert member_main([str(ens), "--member", "2", "--data", str(tiny_corpus), "--out", str(out)]) == 2
    assert "--member must be 0..1" in capsys.readouterr().err
    assert member_main([str(single), "--member", "0", "--data", str(tiny_corpus), "--out", str(out)]) == 2
    assert "not an ensemble" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # no --data: its dev split calibrates the threshold
        member_main([str(ens), "--member", "0", "--out", str(out)])
    assert not out.exists()
