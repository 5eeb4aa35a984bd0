"""Clip -> classifier windows, by the daemon's own rules, for training and evaluation alike.

The daemon only scores speech: webrtcvad opens an utterance at speech onset and the Windower cuts 2 s windows
every 1 s, adds an end-aligned last window, and tiles a short segment to full length. Training and ``voxwatch
eval`` do the same on a corpus clip: the clip is trimmed to its speech span (first VAD onset to last VAD end, so
leading/trailing digital silence, a TTS fingerprint, is never seen), then windowed with the pipeline's
``Windower``; a clip shorter than a window is tiled with ``tile_to_length`` (even below ``min_segment_s``, where
the daemon would drop it, so that every corpus clip gets a score).
"""

from __future__ import annotations

import numpy as np

from voxwatch.pipeline.vad import SpeechEnd, SpeechStart, VadGate, VadSettings
from voxwatch.pipeline.windower import Windower, WindowSettings, WindowSpec, tile_to_length


def energy_span(audio: np.ndarray, floor_db: float = -40.0, frame: int = 160) -> tuple[int, int]:
    """Fallback trim when the VAD finds no speech: frames within ``floor_db`` of the loudest 10 ms frame."""
    n = len(audio) // frame
    if n == 0:
        return 0, len(audio)
    power = (np.asarray(audio[: n * frame], np.float64).reshape(n, frame) ** 2).mean(axis=1)
    level = 10 * np.log10(power + 1e-12)
    loud = np.flatnonzero(level >= level.max() + floor_db)
    return int(loud[0] * frame), int(min(len(audio), (loud[-1] + 1) * frame))


def speech_span(audio: np.ndarray, vad: VadSettings | None = None) -> tuple[int, int]:
    """(start, end) sample of the clip's speech: first VAD onset to last VAD end (energy trim if none)."""
    gate = VadGate(vad or VadSettings())
    events = gate.process(audio) + gate.flush()
    starts = [e.sample for e in events if isinstance(e, SpeechStart)]
    ends = [e.sample for e in events if isinstance(e, SpeechEnd)]
    if starts and ends and ends[-1] > starts[0]:
        return starts[0], ends[-1]
    return energy_span(audio)


def window_specs(n_samples: int, settings: WindowSettings) -> list[WindowSpec]:
    """The pipeline Windower's windows for one segment of ``n_samples`` (at least one window)."""
    windower = Windower(settings)
    specs = [o for o in windower.update([SpeechStart(0), SpeechEnd(n_samples)], n_samples)
             if isinstance(o, WindowSpec)]
    return specs or [WindowSpec(0, 0, n_samples, padded=True)]


def cut_windows(audio: np.ndarray, settings: WindowSettings) -> list[np.ndarray]:
    """Windows of exactly ``settings.window_samples`` samples (short audio tiled)."""
    win = settings.window_samples
    out = []
    for spec in window_specs(len(audio), settings):
        piece = audio[max(0, spec.start) : spec.end]
        out.append(tile_to_length(piece, win) if len(piece) < win else piece)
    return out


def trim(audio: np.ndarray, vad: VadSettings | None = None) -> np.ndarray:
    start, end = speech_span(audio, vad)
    return audio[start:end] if end - start >= 400 else audio  # 400 samples: one feature frame
