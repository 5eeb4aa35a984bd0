from pathlib import Path

import pytest

from voxwatch.config import Config, config_from_dict, load_config
from voxwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_default_toml_equals_builtin_defaults():
    config = load_config(ROOT / "configs" / "default.toml")
    defaults = Config()
    assert config.pipeline == defaults.pipeline
    assert config.publish == defaults.publish


def test_values_and_threshold_forms():
    c = config_from_dict({"decision": {"threshold": 0.7, "aggregate": "max"}, "window": {"hop_s": 0.5},
                          "publish": {"bind": "tcp://127.0.0.1:7000"}})
    assert c.pipeline.decision.threshold == 0.7 and c.pipeline.decision.aggregate == "max"
    assert c.pipeline.window.hop_s == 0.5
    assert c.publish.bind == ("tcp://127.0.0.1:7000",)
    assert config_from_dict({"decision": {"threshold": "model"}}).pipeline.decision.threshold is None


@pytest.mark.parametrize("data, match", [
    ({"vad": {"aggresiveness": 2}}, "unknown key"),
    ({"bogus": {}}, "unknown section"),
    ({"window": {"window_s": "two"}}, "expected float"),
    ({"decision": {"threshold": "high"}}, "threshold"),
    ({"vad": {"frame_ms": 25}}, "frame_ms"),
    ({"features": 3}, "must be a table"),
    ({"features": {"sample_rate": 8000}}, "sample_rate must be 16000"),  # one rate inside voxwatch
])
def test_bad_values_are_clear_errors(data, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(data)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[vad\naggressiveness = 2")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)


def test_model_path_relative_to_config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\npath = "models/m.onnx"\n')
    assert load_config(path).model == str(tmp_path / "models" / "m.onnx")


def test_config_paths_expand_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "c.toml"
    path.write_text('[model]\npath = "~/m.onnx"\n[evidence]\ndir = "~/ev"\n[voices]\ndir = "v"\n')
    config = load_config(path)
    assert config.model == str(tmp_path / "home" / "m.onnx") and config.evidence.dir == str(tmp_path / "home" / "ev")
    assert config.voices.dir == str(tmp_path / "v")


def test_stream_tables_override_decision_per_stream():
    c = config_from_dict({"decision": {"threshold": 0.6, "aggregate": "max", "early_windows": 2},
                          "streams": {"room": {"threshold": 0.9, "refractory_s": 30},
                                      "headset": {"threshold": "model", "early_windows": 4, "early_of": 6,
                                                  "min_alert_s": 1.5}}})
    p = c.pipeline
    room, headset, other = p.decision_for("room"), p.decision_for("headset"), p.decision_for("mic0")
    assert (room.threshold, room.aggregate, room.early_windows, room.refractory_s) == (0.9, "max", 2, 30.0)
    assert (headset.threshold, headset.early_windows, headset.early_of, headset.min_alert_s) == (None, 4, 6, 1.5)
    assert other == p.decision and other.threshold == 0.6  # a stream without a table keeps [decision]


@pytest.mark.parametrize("data, match", [
    ({"streams": {"room": {"treshold": 0.5}}}, r"\[streams.room\]: unknown key"),
    ({"streams": {"room": {"threshold": 2.0}}}, r"\[streams.room\].*threshold must be in \[0, 1\]"),
    ({"streams": {"room": {"early_windows": 3, "early_of": 2}}}, "early_of"),
    ({"streams": {"room": 0.5}}, "one table per stream id"),
    ({"pipeline": {"stream_decisions": []}}, r"\[pipeline\]: unknown key"),
])
def test_bad_stream_tables_are_clear_errors(data, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(data)
