"""A model's feature settings and window length come from its card unless the config names them: ``--model
other.onnx`` works without a ``[features]`` table; only an explicit, conflicting one is an error."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import LOUDNESS_FEATURES

from voxwatch import Detector
from voxwatch.config import load_config


def _score(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voxwatch", "score", "--json", *args], capture_output=True,
                          text=True, timeout=60)


def test_a_model_runs_on_its_own_card_without_a_features_table(loud_model, audio_files, tmp_path):
    alone = _score("--model", str(loud_model), str(audio_files["loud"]))
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["verdict"] == "fake"
    decision_only = tmp_path / "decision.toml"
    decision_only.write_text("[decision]\nthreshold = 0.5\n")  # a config that says nothing about features
    assert _score("--model", str(loud_model), "--config", str(decision_only), str(audio_files["loud"])).returncode == 0
    detector = Detector(model=loud_model)
    assert detector.config.pipeline.features == LOUDNESS_FEATURES
    assert detector.score_file(audio_files["loud"]).verdict == "fake"


def test_only_an_explicit_conflicting_features_table_is_an_error(loud_model, audio_files, tmp_path):
    conflicting = tmp_path / "conflict.toml"
    conflicting.write_text("[features]\nnfilt = 40\n")  # the defaults' kind and normalisation, not the model's
    result = _score("--model", str(loud_model), "--config", str(conflicting), str(audio_files["loud"]))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxwatch: error: ") and "feature settings" in lines[0]
    matching = tmp_path / "matching.toml"
    matching.write_text('[features]\nkind = "logfbank"\nnfilt = 40\nnormalize = "none"\n')
    from voxwatch.model_loading import load_model

    _, config = load_model(str(loud_model), load_config(matching))
    assert config.pipeline.features == LOUDNESS_FEATURES


def test_the_shipped_default_config_runs_any_model(loud_model, audio_files):
    """``voxwatch config --default > my.toml`` must not pin the bundled model's features onto another model."""
    from pathlib import Path

    default = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
    result = _score("--model", str(loud_model), "--config", str(default), str(audio_files["loud"]))
    assert result.returncode == 0, result.stderr
