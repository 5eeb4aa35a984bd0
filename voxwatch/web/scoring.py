"""An uploaded file scored with ``Detector``: the record ``voxwatch score --json`` prints, plus what the Analyze
page plots (the window scores over time, the alerts the daemon would have raised, and optionally a spectrogram).

The upload is decoded in memory (``load_audio_bytes``: the checks and the wording of ``score``), so a bad file gets
the same message as on the command line. One scoring at a time (a lock): the work is CPU-bound, and requests
queue in the server's worker threads rather than compete for the same cores.

Spans, windows and alerts are serialized by ``judgement_fields`` (voxwatch.pipeline.records), as the events are.
Each window's ``verifier_score`` is filled in when the detector's cascade had its utterance judged by the verifier
(the verifier scores whole utterances: every window of one carries its value); the page draws that series when
it is present, and nothing depends on it.
"""

from __future__ import annotations

import re
import threading
from pathlib import PurePath
from typing import Any

import numpy as np

from voxwatch.detector import Detector, FileScore, Judgement
from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.records import judgement_fields, rounded
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import load_audio_bytes
from voxwatch.transport.events import unique_stream_ids
from voxwatch.web.spectrogram import spectrogram_json

_UNSAFE = re.compile(r"[^\w .,()+-]+")


class UploadTooLong(VoxwatchError):
    """The decoded audio is longer than the server accepts (answered with 413)."""


def upload_name(filename: str | None) -> str:
    """The client's file name, reduced to a plain base name for messages and the record's ``file``."""
    name = _UNSAFE.sub("_", PurePath((filename or "").replace("\\", "/")).name).strip(" .")[:200]
    return name or "upload"


def window_point(window: Judgement, utterance_verifier_score: float | None = None) -> dict[str, Any]:
    """A window of the plot: its fields as every judgement's (``judgement_fields``); with the cascade, the
    verifier's score of its utterance where the verifier judged it (the verifier scores whole utterances, so
    every window of one carries the same value)."""
    point = judgement_fields(window)
    if point["verifier_score"] is None and utterance_verifier_score is not None:
        point["verifier_score"] = rounded(utterance_verifier_score)
    return point


def analysis_record(result: FileScore, duration_s: float) -> dict[str, Any]:
    """``result.record(spans=True)`` (what ``score --json`` prints) with the plot's data added: every window and
    every alert, each serialized as the events serialize a judgement."""
    verified = {u.utterance: u.verifier_score for u in result.utterances if u.verifier_score is not None}
    return {**result.record(spans=True), "duration_s": round(duration_s, 3),
            "windows": [window_point(w, verified.get(w.utterance)) for w in result.windows],
            "alerts": [judgement_fields(a) for a in result.alerts]}


class ScoreService:
    """Scores uploads with one shared ``Detector``."""

    def __init__(self, detector: Detector, max_duration_s: float) -> None:
        self.detector = detector
        self.max_duration_s = max_duration_s
        self._lock = threading.Lock()

    def score_upload(self, data: bytes, filename: str | None, spectrogram: bool = False) -> dict[str, Any]:
        """The record for one upload; ``AudioDecodeError`` (400) or ``UploadTooLong`` (413) when it cannot be."""
        name = upload_name(filename)
        audio = load_audio_bytes(data, name)
        duration_s = len(audio) / SAMPLE_RATE
        if duration_s > self.max_duration_s:
            raise UploadTooLong(f"{name}: {duration_s:.1f} s of audio is longer than this server's limit of "
                                f"{self.max_duration_s:g} s (voxwatch web --max-duration-s)")
        stream = unique_stream_ids([PurePath(name).stem])[0]  # as `score` and `replay` name a file's stream
        with self._lock:
            result = self.detector.score_audio(audio, SAMPLE_RATE, name, stream=stream)
        record = analysis_record(result, duration_s)
        if spectrogram:
            record["spectrogram"] = spectrogram_json(np.asarray(audio))
        return record
