"""Audio sources: they turn files (or, in voxwatch.pipeline.mic, devices) into 16 kHz mono float32 blocks.

A source runs in its own thread (started by the Pipeline) and writes into its stream's ring buffer.
``WavReplaySource`` decodes any format libsndfile reads (WAV, FLAC, OGG, ...), downmixes to mono, resamples
polyphase to 16 kHz, and writes blocks either at real-time pace (the pipeline sees a live stream) or as fast as
the pipeline takes them (it waits for room in the ring buffer rather than let it overflow: nothing is lost).
"""

from __future__ import annotations

import struct
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from voxwatch.errors import AudioDecodeError
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.samplerate import SAMPLE_RATE


class StreamReporter(Protocol):
    """How a source tells the pipeline about its state (``error``/``recovered`` with a one-line detail)."""

    def __call__(self, state: str, detail: str = "") -> None: ...


class Source(Protocol):
    """What the Pipeline needs from a source."""

    description: str

    def run(self, ring: RingBuffer, stop: threading.Event, report: StreamReporter) -> None:
        """Write audio into ``ring`` until the source ends or ``stop`` is set. Raise VoxwatchError on failure."""


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly) from ``rate`` to ``target``, float32 out."""
    if rate == target:
        return np.asarray(audio, dtype=np.float32)
    from scipy.signal import resample_poly

    ratio = Fraction(target, rate).limit_denominator(1000)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(frames, channels) or (frames,) -> (frames,) by averaging channels."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio.mean(axis=1) if audio.ndim == 2 else audio


def _wav_truncation(path: Path) -> str | None:
    """For RIFF/WAVE files: a reason string if the data chunk claims more bytes than the file holds."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = path.stat().st_size
            pos = 12
            while pos + 8 <= size:
                handle.seek(pos)
                chunk, length = struct.unpack("<4sI", handle.read(8))
                if chunk == b"data":
                    remaining = size - pos - 8
                    if length != 0xFFFFFFFF and length > remaining:
                        return f"truncated: header declares {length} data bytes, file holds {remaining}"
                    return None
                pos += 8 + length + (length & 1)
    except OSError:
        return None
    return None


def load_audio(path: Path | str) -> np.ndarray:
    """Decode a whole file to 16 kHz mono float32. Raises AudioDecodeError naming the file and the reason."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioDecodeError(f"{path}: no such file")
    if path.is_dir():
        raise AudioDecodeError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: empty file")
    truncated = _wav_truncation(path)
    if truncated:
        raise AudioDecodeError(f"{path}: {truncated}")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).replace(f"Error opening {str(path)!r}: ", "").strip() or exc.__class__.__name__
        raise AudioDecodeError(f"{path}: cannot decode audio ({reason})") from None
    except OSError as exc:
        raise AudioDecodeError(f"{path}: {exc.strerror or exc}") from None
    if data.shape[0] == 0:
        raise AudioDecodeError(f"{path}: contains no audio samples")
    if not np.all(np.isfinite(data)):
        raise AudioDecodeError(f"{path}: contains NaN or infinite samples")
    return resample(to_mono(data), int(rate))


class WavReplaySource:
    """Replays one file as a stream, block by block."""

    def __init__(self, path: Path | str, realtime: bool = False, block_ms: int = 20, speed: float = 1.0) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.block = SAMPLE_RATE * block_ms // 1000
        self.speed = speed
        self.description = str(self.path)
        self.duration_s: float | None = None

    def run(self, ring: RingBuffer, stop: threading.Event, report: StreamReporter) -> None:
        audio = load_audio(self.path)
        self.duration_s = len(audio) / SAMPLE_RATE
        write_blocks(audio, ring, stop, self.block, realtime=self.realtime, speed=self.speed)


def write_blocks(
    audio: np.ndarray, ring: RingBuffer, stop: threading.Event, block: int, realtime: bool, speed: float = 1.0
) -> None:
    """Feed ``audio`` into ``ring`` in blocks: paced by the clock, or as fast as the ring has room."""
    t0 = time.monotonic()
    for offset in range(0, len(audio), block):
        if stop.is_set():
            return
        chunk = audio[offset : offset + block]
        if realtime:
            due = t0 + offset / SAMPLE_RATE / speed
            delay = due - time.monotonic()
            if delay > 0:
                stop.wait(delay)
        else:
            while ring.free() < len(chunk) and not stop.is_set():
                time.sleep(0.001)
        ring.write(chunk)
