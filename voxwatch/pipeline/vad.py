"""Speech gate: webrtcvad per frame plus a small state machine that turns frames into speech segments.

Onset needs ``onset_ms`` of consecutive speech frames (so a click does not open an utterance); an utterance ends
only after ``hangover_ms`` of consecutive non-speech (so short pauses between words do not split it), or when it
reaches ``max_utterance_s`` (so endless speech still gets verdicts). Indices are absolute sample indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import _webrtcvad  # the C module behind webrtcvad.Vad.is_speech, called directly in the per-frame loop
import numpy as np
import webrtcvad

from voxwatch.errors import ConfigError
from voxwatch.pipeline.samplerate import SAMPLE_RATE


@dataclass(frozen=True)
class VadSettings:
    aggressiveness: int = 2
    frame_ms: int = 30
    onset_ms: int = 90
    hangover_ms: int = 400
    max_utterance_s: float = 30.0

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise ConfigError(f"vad.frame_ms must be 10, 20 or 30, not {self.frame_ms}")
        if not 0 <= self.aggressiveness <= 3:
            raise ConfigError("vad.aggressiveness must be 0..3")
        if self.onset_ms < 0 or self.hangover_ms < 0 or self.max_utterance_s <= 0:
            raise ConfigError("vad.onset_ms and vad.hangover_ms must be >= 0, vad.max_utterance_s > 0")

    @property
    def frame_samples(self) -> int:
        return SAMPLE_RATE * self.frame_ms // 1000


@dataclass(frozen=True)
class SpeechStart:
    sample: int


@dataclass(frozen=True)
class SpeechEnd:
    sample: int


SpeechEvent = SpeechStart | SpeechEnd


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """float [-1, 1] or int16 -> int16 (clipped)."""
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        return audio
    # np.clip's Python wrapper costs more than the work on a 20 ms block; maximum/minimum give the same values
    return (np.minimum(np.maximum(audio, -1.0), 32767 / 32768) * 32768).astype(np.int16)


class VadGate:
    """Feed audio blocks of any length with ``process``; get SpeechStart/SpeechEnd events back."""

    def __init__(self, settings: VadSettings, start_sample: int = 0) -> None:
        self.settings = settings
        self._vad = webrtcvad.Vad(settings.aggressiveness)
        self._frame = settings.frame_samples
        self._onset_frames = max(1, -(-settings.onset_ms // settings.frame_ms))
        self._hang_frames = max(1, -(-settings.hangover_ms // settings.frame_ms))
        self._max_frames = max(1, int(settings.max_utterance_s * 1000 / settings.frame_ms))
        self._pending = np.zeros(0, dtype=np.int16)
        self._next = start_sample  # absolute index of the first sample in _pending
        self._in_speech = False
        self._run = 0  # consecutive frames of the kind that would change state
        self._run_start = 0
        self._speech_start = 0
        self.speech_samples = 0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def process(self, audio: np.ndarray, start_sample: int | None = None) -> list[SpeechEvent]:
        """Consume a block. ``start_sample`` (absolute index of its first sample) handles gaps after drops."""
        pcm = to_pcm16(audio)
        events: list[SpeechEvent] = []
        if start_sample is not None and start_sample != self._next + len(self._pending):
            # audio was lost between blocks: close any open utterance at the gap and restart framing
            if self._in_speech:
                events.append(self._end(self._next + len(self._pending)))
            self._pending = np.zeros(0, dtype=np.int16)
            self._next = start_sample
            self._run = 0
        data = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        frame = self._frame
        n_frames = len(data) // frame
        consumed = n_frames * frame
        # one bytes copy of the whole block, then webrtcvad's C call per frame (what Vad.is_speech does, minus its
        # Python-level checks: every frame here has exactly `frame` samples)
        pcm_bytes = data[:consumed].tobytes()
        process, handle, step = _webrtcvad.process, self._vad._vad, 2 * frame
        for i in range(n_frames):
            speech = process(handle, SAMPLE_RATE, pcm_bytes[i * step : (i + 1) * step], frame)
            events.extend(self._step(speech, self._next + i * frame))
        self._pending = data[consumed:].copy()
        self._next += consumed
        return events

    def flush(self) -> list[SpeechEvent]:
        """End of stream: close an open utterance at the last complete frame."""
        if self._in_speech:
            return [self._end(self._next)]
        return []

    def _step(self, speech: bool, index: int) -> list[SpeechEvent]:
        if not self._in_speech:
            if speech:
                if self._run == 0:
                    self._run_start = index
                self._run += 1
                if self._run >= self._onset_frames:
                    self._in_speech = True
                    self._speech_start = self._run_start
                    self._run = 0
                    return [SpeechStart(self._speech_start)]
            else:
                self._run = 0
            return []
        self.speech_samples += self._frame
        if speech:
            self._run = 0
        else:
            if self._run == 0:
                self._run_start = index
            self._run += 1
            if self._run >= self._hang_frames:
                self.speech_samples -= self._run * self._frame  # the hangover was not speech
                return [self._end(self._run_start)]
        if (index + self._frame - self._speech_start) // self._frame >= self._max_frames:
            end = index + self._frame
            self._in_speech = False
            self._run = 0
            # speech goes on: a new utterance starts right where the forced split was made
            self._in_speech = True
            self._speech_start = end
            return [SpeechEnd(end), SpeechStart(end)]
        return []

    def _end(self, at: int) -> SpeechEnd:
        self._in_speech = False
        self._run = 0
        return SpeechEnd(at)
