"""Shared fixtures: a loudness-driven test model, its matching config, and synthetic audio files."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import LOUDNESS_TOML, build_mean_model, silence, speech_like, write_wav  # noqa: E402

LOUDNESS_CONFIG = LOUDNESS_TOML


def require_tool(*names: str) -> None:
    """Skip when a tool is missing, unless CI (VOXWATCH_REQUIRE_ALL_TESTS) demands that every test runs."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail(f"required tool(s) missing: {', '.join(missing)}")
        pytest.skip(f"tool(s) missing: {', '.join(missing)}")


def require_module(*names: str, extra: str = "train", install: str | None = None) -> None:
    """Skip when a Python package of an extra is missing (``install``: how to get it, else the extra's pip line),
    unless CI (VOXWATCH_REQUIRE_ALL_TESTS) demands every test."""
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    if missing:
        hint = install or f"pip install -e '.[{extra}]'"
        message = f"{', '.join(missing)} missing ({hint})"
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _own_data_home(tmp_path_factory):
    """The tests' own $XDG_DATA_HOME (their subprocesses inherit it): voiceprints a developer enrolled in the
    default voices directory must not turn clone watch on in the run/replay/score tests, nor may a test write
    there."""
    old = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if old is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = old


@pytest.fixture(scope="session")
def loud_model(tmp_path_factory) -> Path:
    """Scores loud speech (~-7 mean log energy) as fake, quiet speech (~-12) as real."""
    return build_mean_model(tmp_path_factory.mktemp("model") / "mean.onnx", scale=2.0, offset=-9.5)


@pytest.fixture(scope="session")
def loud_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "loud.toml"
    path.write_text(LOUDNESS_CONFIG)
    return path


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory) -> dict[str, Path]:
    """loud: one 3 s loud utterance ("fake"); quiet: one 4 s quiet utterance ("real"); two: loud then quiet."""
    d = tmp_path_factory.mktemp("audio")
    loud = np.concatenate([silence(0.5), speech_like(3.0, 0.3, seed=1), silence(1.0)])
    quiet = np.concatenate([silence(0.5), speech_like(4.0, 0.02, seed=2), silence(1.0)])
    two = np.concatenate([silence(0.5), speech_like(3.0, 0.3, seed=3), silence(1.5),
                          speech_like(3.0, 0.02, seed=4), silence(1.0)])
    return {"loud": write_wav(d / "loud.wav", loud), "quiet": write_wav(d / "quiet.wav", quiet),
            "two": write_wav(d / "two.wav", two)}
