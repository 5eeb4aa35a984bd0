"""The README's demo on a machine that has only this package: the shipped real recording shows REAL beside the
espeak-ng utterance's FAKE (no ``../shared`` corpus needed), and a ``VOXWATCH_DEMO_REAL`` that names nothing is an
error, not a silent fallback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import soundfile as sf
from conftest import require_tool
from daemon_helpers import free_port

from voxwatch import Detector
from voxwatch.demo import REAL_RECORDING

REPO = Path(__file__).resolve().parent.parent


def _demo(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """script/demo from a folder with nothing beside it (no ../shared), on this environment's voxwatch."""
    clone = tmp_path / "clone"
    (clone / "script").mkdir(parents=True)
    shutil.copy(REPO / "script" / "demo", clone / "script" / "demo")
    environ = {k: v for k, v in os.environ.items() if k != "VOXWATCH_DEMO_REAL"}
    return subprocess.run(["bash", str(clone / "script" / "demo")], capture_output=True, text=True, timeout=300,
                          env={**environ, "VOXWATCH_DEMO_PORT": str(free_port()), **env})


def test_the_demo_shows_real_beside_fake_on_a_bare_machine(tmp_path):
    require_tool("espeak-ng")
    done = _demo(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    verdicts = [line for line in done.stdout.splitlines() if line.startswith("stream ")]
    assert any(line.startswith("stream real-voice ") and ": REAL " in line for line in verdicts), done.stdout
    assert any(line.startswith("stream synthetic ") and ": FAKE " in line for line in verdicts), done.stdout


def test_a_demo_recording_that_does_not_exist_is_an_error(tmp_path):
    done = _demo(tmp_path, VOXWATCH_DEMO_REAL=str(tmp_path / "nowhere.wav"))
    assert done.returncode == 2
    assert f"VOXWATCH_DEMO_REAL={tmp_path / 'nowhere.wav'}: no such file" in done.stderr


def test_the_shipped_recording_is_small_licensed_package_data_and_real():
    info = sf.info(str(REAL_RECORDING))
    assert (info.format, info.samplerate, info.channels) == ("FLAC", 16000, 1)
    assert REAL_RECORDING.stat().st_size <= 300_000 and 3.0 < info.duration < 10.0
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(REAL_RECORDING.relative_to(REPO))],
                             cwd=REPO, capture_output=True, text=True)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(REAL_RECORDING.relative_to(REPO))], cwd=REPO)
    assert tracked.returncode == 0 or ignored.returncode == 1  # committed, or at least not ignored
    readme = (REPO / "README.md").read_text()
    assert "LJ050-0033" in readme and "public domain" in readme.lower()
    assert Detector().score_file(REAL_RECORDING).verdict == "real"


def test_the_demos_summary_table_reads_whole_piped_at_80_columns(tmp_path):
    """The demo's last step, ``voxwatch replay`` of its two files, piped (as the demo's output is in CI or into a
    file) at 80 columns: one line per stream, the names whole, nothing over 80 characters."""
    import sys

    require_tool("espeak-ng")
    synthetic, real = tmp_path / "synthetic.wav", tmp_path / "real-voice.flac"
    subprocess.run(["espeak-ng", "-w", str(synthetic), "Please confirm the code we just sent you."], check=True)
    shutil.copy(REAL_RECORDING, real)
    for columns in ("80", None):  # $COLUMNS as a terminal of 80 sets it, and none at all (Rich's 80)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        done = subprocess.run([sys.executable, "-m", "voxwatch", "replay", "--fast", "--no-publish", str(synthetic),
                               str(real)], capture_output=True, text=True, timeout=120,
                              env={**env, **({"COLUMNS": columns} if columns else {})})
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert max(len(line) for line in lines) <= 80 and "…" not in done.stdout, done.stdout
        header = next(line for line in lines if line.split()[:1] == ["stream"])
        assert header.split()[-1] == "status", done.stdout  # every column, status last, on the header's line
        rows = {line.split()[0]: line.split() for line in lines if line.split()[-1:] == ["ended"]}
        assert set(rows) == {"synthetic", "real-voice"}, done.stdout  # each stream's row on one line
