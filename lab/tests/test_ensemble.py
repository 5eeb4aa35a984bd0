"""``python -m lab.ensemble`` and ``python -m lab.refit_verifier``: verifier runs trained by ``voxwatch train --stage
verifier`` averaged into one verifier, and an exported verifier's operating point chosen again on dev."""

import json

import numpy as np
import pytest

from tests import conftest  # noqa: F401 (first: it puts tests/ on sys.path for the product's test helpers)
from tests.test_training import require_torch
from tests.test_verifier_training import _dataset, train_verifier
from voxwatch.pipeline.sources import load_audio
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings, verifier_audio, verifier_features
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier


def _tiny_run(root, out, seed, bands="64"):
    assert train_verifier(root, out, "--epochs", "1", "--max-steps", "2", "--bands", bands, "--seed", str(seed),
                          "--cache", str(root.parent / "cache")) == 0
    return out


def test_an_ensemble_of_runs_is_one_verifier_scoring_the_mean_of_their_logits(tmp_path):
    require_torch()
    import torch

    from lab.ensemble import Ensemble, load_member, main

    root = _dataset(tmp_path / "toy", n_train=2, n_dev=2)
    runs = [_tiny_run(root, tmp_path / f"run{seed}", seed) for seed in (0, 1)]
    out = tmp_path / "ensemble"
    assert main(["--data", str(root), "--out", str(out), "--workers", "1", "--cache", str(tmp_path / "cache")]
                + [a for run in runs for a in ("--member", str(run))]) == 0
    card = json.loads((out / "verifier.json").read_text())
    members = [json.loads((run / "verifier.json").read_text())["model_id"] for run in runs]
    assert card["model_id"].startswith("verifier-ensemble-") and card["training"]["kind"] == "ensemble"
    assert [m["model_id"] for m in card["training"]["members"]] == members
    assert card["training"]["parameters"] == sum(m["parameters"] for m in card["training"]["members"])
    assert card["metrics"]["parity_max_abs_diff"] <= 1e-4 and 0.0 <= card["gate"] <= 1.0

    settings = VerifierFeatureSettings(spectrum=FeatureSettings(kind="linfbank", nfilt=64, normalize="cmn"))
    audio = load_audio(root / "spoof/dev0.wav")
    x = torch.from_numpy(verifier_features(verifier_audio(audio, settings), settings).astype(np.float32))[None, None]
    with torch.no_grad():
        logits = [float(load_member(run)[0](x)) for run in runs]
    assert logits[0] != pytest.approx(logits[1])  # two different members, so the mean is not either one
    expected = 1.0 / (1.0 + np.exp(-np.mean(logits)))
    assert OnnxVerifier(out / "verifier.onnx").score(audio) == pytest.approx(expected, abs=1e-4)
    with torch.no_grad():
        together = float(torch.sigmoid(Ensemble([load_member(r)[0] for r in runs])(x)))
    assert together == pytest.approx(expected, abs=1e-5)


def test_an_ensemble_refuses_members_with_different_front_ends_or_no_run(tmp_path):
    require_torch()
    from lab.ensemble import EnsembleError, main

    root = _dataset(tmp_path / "toy", n_train=2, n_dev=2)
    runs = [_tiny_run(root, tmp_path / "a", 0), _tiny_run(root, tmp_path / "b", 0, bands="32")]
    args = ["--data", str(root), "--out", str(tmp_path / "e"), "--workers", "1"]
    with pytest.raises(EnsembleError, match="different features"):
        main(args + [a for run in runs for a in ("--member", str(run))])
    with pytest.raises(EnsembleError, match="not a verifier run .* voxwatch train --stage verifier"):
        main(args + ["--member", str(tmp_path / "missing")])


def test_refit_chooses_the_operating_point_again_and_leaves_the_model_file_alone(tmp_path, capsys):
    require_torch()
    from lab.refit_verifier import main

    root = _dataset(tmp_path / "toy", n_train=2, n_dev=2)
    run = _tiny_run(root, tmp_path / "run", 0)
    model, card_file = run / "verifier.onnx", run / "verifier.json"
    before, onnx = json.loads(card_file.read_text()), model.read_bytes()
    capsys.readouterr()
    assert main([str(model), "--data", str(root), "--no-fusion", "--gate-pass", "0.5"]) == 0
    after = json.loads(card_file.read_text())
    assert after["fusion"] == {} and after["metrics"]["dev"]["gate_pass"] == 0.5
    assert before["metrics"]["dev"]["gate_pass"] == 0.98 and model.read_bytes() == onnx
    assert json.loads(capsys.readouterr().out)["gate_pass"] == 0.5
    OnnxVerifier(model)  # the card still belongs to its model file
