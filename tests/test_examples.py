"""The examples run as a reader would run them, and say what decided: ``examples/score_files.py`` prints each
utterance's deciding stage with that stage's threshold (the verifier's where the cascade's verifier decided)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from voxwatch.demo import REAL_RECORDING

ROOT = Path(__file__).resolve().parent.parent


def test_score_files_prints_the_deciding_stages_threshold():
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "score_files.py"), str(REAL_RECORDING)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    verifier = json.loads((ROOT / "voxwatch" / "models" / "verifier.json").read_text())["threshold"]
    filter_threshold = json.loads((ROOT / "voxwatch" / "models" / "default.json").read_text())["threshold"]
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{Path(REAL_RECORDING).name}: REAL (filter score ")
    utterances = [line for line in lines if line.lstrip().startswith("utterance")]
    assert utterances and all(f"(verifier, threshold {verifier:.3f}; filter " in line for line in utterances)
    assert f"{filter_threshold:.3f}" not in done.stdout  # the filter's threshold did not decide here
