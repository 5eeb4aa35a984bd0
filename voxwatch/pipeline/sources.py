"""Audio sources: they turn files (or, in voxwatch.pipeline.mic, devices) into 16 kHz mono float32 blocks.

A source runs in its own thread (started by the Pipeline) and writes into its stream's ring buffer.
``WavReplaySource`` decodes any format libsndfile reads (WAV, FLAC, OGG, ...), downmixes to mono, resamples
polyphase to 16 kHz, and writes blocks either at real-time pace (the pipeline sees a live stream) or as fast as
the pipeline takes them (it waits for room in the ring buffer rather than let it overflow: nothing is lost).
"""

from __future__ import annotations

import io
import struct
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Protocol

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


def _wav_truncation(handle: BinaryIO, size: int) -> str | None:
    """For RIFF/WAVE data: a reason string if the data chunk claims more bytes than the file holds."""
    handle.seek(0)
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
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
    return None


def load_audio(path: Path | str) -> np.ndarray:
    """Decode a whole file to 16 kHz mono float32. Raises AudioDecodeError naming the file and the reason."""
    path = Path(path)
    if not path.exists():
        raise AudioDecodeError(f"{path}: no such file")
    if path.is_dir():
        raise AudioDecodeError(f"{path}: is a directory, not an audio file")
    try:
        with open(path, "rb") as handle:
            return _decode(handle, path.stat().st_size, str(path))
    except OSError as exc:
        raise AudioDecodeError(f"{path}: {exc.strerror or exc}") from None


def load_audio_bytes(data: bytes, name: str) -> np.ndarray:
    """``load_audio`` of a file held in memory (an upload): the same checks and the same messages, which name
    ``name``; nothing is written to disk."""
    return _decode(io.BytesIO(data), len(data), name)


def _decode(handle: BinaryIO, size: int, name: str) -> np.ndarray:
    """The checks and decoding behind ``load_audio`` and ``load_audio_bytes`` (one wording for both)."""
    import soundfile as sf

    if size == 0:
        raise AudioDecodeError(f"{name}: empty file")
    truncated = _wav_truncation(handle, size)
    if truncated:
        raise AudioDecodeError(f"{name}: {truncated}")
    handle.seek(0)
    try:
        data, rate = sf.read(handle, dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        raise AudioDecodeError(f"{name}: cannot decode audio ({exc.error_string.strip() or 'unknown format'})") \
            from None
    except (RuntimeError, TypeError, ValueError) as exc:
        raise AudioDecodeError(f"{name}: cannot decode audio ({str(exc).strip() or exc.__class__.__name__})") \
            from None
    if data.shape[0] == 0:
        raise AudioDecodeError(f"{name}: contains no audio samples")
    if not np.all(np.isfinite(data)):
        raise AudioDecodeError(f"{name}: contains NaN or infinite samples")
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
