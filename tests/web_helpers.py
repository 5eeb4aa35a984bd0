"""Helpers for the web tests: an in-process app, evidence clips written by the real store, the clips the pages
judge (a real voice from the shared corpus, a synthetic one from espeak-ng), and a ``voxwatch web`` server
subprocess on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool
from helpers import speech_like

from voxwatch.config import EvidenceSettings
from voxwatch.daemon.evidence import EvidenceStore
from voxwatch.daemon.evidence_review import EvidenceReview
from voxwatch.detector import Detector
from voxwatch.pipeline.decision import Judgement
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.samplerate import SAMPLE_RATE as SR
from voxwatch.pipeline.sources import write_blocks
from voxwatch.pipeline.types import JudgementEvent

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VOXWATCH_SHARED", REPO.parent / "shared"))
REAL_CLIP = SHARED / "data" / "corpus" / "bonafide" / "librispeech" / "103-1240-0000.flac"
SYNTHETIC_TEXT = "Hello, this is your bank calling. Please confirm the code we just sent you."


def real_clip() -> Path:
    """A recording of a real voice (LibriSpeech, in the shared corpus beside the checkout)."""
    if not REAL_CLIP.is_file():
        pytest.skip(f"the shared corpus is not here ({REAL_CLIP}); set VOXWATCH_SHARED to its directory")
    return REAL_CLIP


def synthetic_clip(directory: Path) -> Path:
    """An utterance synthesised by espeak-ng: machine-generated speech the bundled model calls fake."""
    require_tool("espeak-ng")
    path = directory / "synthetic.wav"
    if not path.exists():
        subprocess.run(["espeak-ng", "-w", str(path), SYNTHETIC_TEXT], check=True, capture_output=True)
    return path


def make_app(evidence_dir: Path, token: str | None = None, max_upload_mb: float = 20.0,
             max_duration_s: float = 600.0, page_size: int = 20, detector: Detector | None = None, voices=None):
    """The real application without a live feed (the live tests run a real server); ``voices``: a ``VoiceDesk``
    (default: one on the settings' voices directory)."""
    from voxwatch.web.app import create_app
    from voxwatch.web.scoring import ScoreService
    from voxwatch.web.settings import WebSettings

    settings = WebSettings(token=token, max_upload_mb=max_upload_mb, max_duration_s=max_duration_s,
                           evidence_dir=evidence_dir, page_size=page_size)
    scorer = ScoreService(detector or Detector(), max_duration_s)
    return create_app(settings, scorer, None, EvidenceReview(evidence_dir), voices)


class _ArraySource:
    description = "test array"

    def __init__(self, audio: np.ndarray) -> None:
        self.audio = audio

    def run(self, ring, stop, report) -> None:
        write_blocks(self.audio, ring, stop, 320, realtime=False)


def evidence_clips(directory: Path, count: int, stream: str = "desk-phone", first_ts: float = 1_800_000_000.0
                   ) -> list[Path]:
    """``count`` clips saved by the real ``EvidenceStore`` (FLAC + sidecar), one second apart, oldest first."""
    store = EvidenceStore(EvidenceSettings(dir=str(directory), pad_s=0.25), daemon={"id": "test-daemon"})
    store.start()
    audio = speech_like(4.0, 0.2, seed=7)
    source = store.wrap(stream, _ArraySource(audio))
    source.run(RingBuffer(len(audio) + 1), threading.Event(), lambda *a: None)
    paths = []
    for i in range(count):
        judgement = Judgement("alert", i, int(1.0 * SR), int(3.0 * SR), 0.93, 0.84, "fake", 2, early=True)
        event = JudgementEvent(stream, judgement, "test-model", "abc", time.monotonic())
        paths.append(store.save(event, ts=first_ts + i))
    store.close()
    return paths


class WebServer:
    """``voxwatch web`` as a subprocess on a free port; ``url`` is what it printed."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "voxwatch", "web", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        line = self.proc.stdout.readline()
        if not line.startswith("voxwatch web: http://"):
            self.proc.kill()
            raise AssertionError(f"voxwatch web did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split()[2].rstrip("/")

    def close(self) -> str:
        """Stop it (SIGTERM, as a service manager would); returns its stderr."""
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err
