"""Pinned malloc thresholds: the feature stage's large arrays are reused, not faulted in afresh on each call.

Counted in minor page faults of a fresh interpreter (deterministic, unlike timings). The probe first leaves one
small array alive on the heap (any allocation history can do that); glibc's dynamic thresholds then serve each
``frame_features`` call's 400 KB FFT buffers with new zeroed pages, ~300 faults a call, 2-3x its CPU time.
"""

import subprocess
import sys

import pytest

PROBE = """
import resource, sys
import numpy as np
from voxwatch.malloc_tuning import pin_malloc_thresholds
from voxwatch.pipeline.stages.filter.features import FeatureSettings, _filterbank, frame_features
pinned = pin_malloc_thresholds() if sys.argv[1] == "pin" else None
s = FeatureSettings()
alive = _filterbank(s) / 512  # one array left alive, made after the cached filterbank
x = np.random.default_rng(0).standard_normal(16400).astype(np.float32) * 0.1
for _ in range(5):
    frame_features(x, s)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    frame_features(x, s)
print(pinned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")


def _faults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env={"OPENBLAS_NUM_THREADS": "1", "PATH": ""}).stdout.split()
    return out[0], int(out[1])


@linux_only
def test_pinned_thresholds_stop_page_faults_on_the_feature_path():
    pinned, faults = _faults("pin")
    assert pinned == "True"
    assert faults < 200  # under one fault per call (measured: a handful in all)


@linux_only
def test_the_probe_sees_the_faults_without_pinning():
    """The control: the same history unpinned faults on every call, so the test above can fail."""
    _, faults = _faults("no")
    assert faults > 10_000


def test_the_cli_pins_them_before_running_a_command(monkeypatch, tmp_path, capsys):
    import voxwatch.cli as cli

    calls = []
    monkeypatch.setattr(cli, "pin_malloc_thresholds", lambda: calls.append(1) or True)
    assert cli.main(["score", str(tmp_path / "missing.wav")]) != 0  # a quick command (a user error)
    assert calls == [1]
