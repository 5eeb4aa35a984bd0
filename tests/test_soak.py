"""benchmarks/soak.py, for a few seconds: the daemon it soaks is built as ``voxwatch run`` builds its own
(``voxwatch.daemon.wiring``), so the cascade's verifier runs in it, and the summary reports it beside the loss
counters and RSS over time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

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


def test_a_short_soak_with_voices_enrolled_runs_clone_watch(tmp_path):
    """With a ``[voices] dir`` in the config the soaked daemon checks every judged utterance against the voices,
    and the summary counts those checks (a voiceprint of the demo's real recording: every check finds it)."""
    from voxwatch.pipeline.sources import load_audio
    from voxwatch.voices.enrol import Recording, enrol
    from voxwatch.voices.voiceprint import VoiceStore
    from voxwatch.voices.watch import VoiceChecker

    voices = tmp_path / "voices"
    audio = load_audio(REAL_RECORDING)
    print_ = enrol("demo", [Recording(f"part{i}", part) for i, part in enumerate(np.array_split(audio, 3))],
                   VoiceChecker().encoder, force=True, min_speech_s=1.0)
    VoiceStore(voices).save(print_)
    config = tmp_path / "voxwatch.toml"
    config.write_text(f'[pipeline]\nclone_alerts = "nearest"\n\n[voices]\ndir = "{voices}"\n')
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--duration", "4", "--streams", "2",
                           "--sample", "1", "--config", str(config), "--json", str(out), str(REAL_RECORDING)],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    voice = json.loads(out.read_text())["voice_counters"]
    assert voice["voice_checked"] > 0 and voice["voice_submitted"] + voice["voice_queue_full"] == voice["voice_checks"]
    assert "clone watch: " in done.stdout and "utterances checked" in done.stdout
