"""benchmarks/soak.py, for a few seconds: the daemon it soaks is built as ``voxwatch run`` builds its own
(``voxwatch.daemon.wiring``), so the cascade's verifier runs in it, and the summary reports it beside the loss
counters and RSS over time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from voxwatch.demo import REAL_RECORDING

ROOT = Path(__file__).resolve().parent.parent


def test_a_short_soak_runs_the_shipped_cascade(tmp_path):
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--duration", "4", "--streams", "2",
                           "--sample", "1", "--json", str(out), str(REAL_RECORDING)], capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads(out.read_text())
    card = json.loads((ROOT / "voxwatch" / "models" / "verifier.json").read_text())
    assert summary["verifier"] == card["model_id"]  # the heartbeat names the verifier it runs
    verifier = summary["verifier_counters"]
    # fed as fast as it takes them, the verifier may fall behind: every check is then either submitted or counted
    assert verifier["verifier_verified"] > 0 and verifier["gated"] <= verifier["verifier_checks"]
    assert verifier["verifier_submitted"] + verifier["verifier_queue_full"] == verifier["verifier_checks"]
    assert summary["seq_gaps"] == 0 and summary["events_dropped"] == 0 and summary["rss_samples"]
    assert "soak: OK" in done.stdout and "RSS over time (s: MB): " in done.stdout
    assert f"verifier: {card['model_id']}, " in done.stdout
