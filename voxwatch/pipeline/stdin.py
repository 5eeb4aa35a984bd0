"""Audio from standard input (``voxwatch score -`` / ``replay -``), so any program that can write audio to a pipe
(arecord, ffmpeg bridging RTP/SIP/RTSP/HTTP streams) feeds the detector without a file or a device.

Two kinds of input: an encoded stream (WAV, FLAC, OGG: libsndfile needs to seek, so it is read to its end first,
which suits finite input), or raw PCM (``RawFormat``: rate and ``s16le``/``f32le``, mono or interleaved channels),
read and judged block by block as it arrives, which suits endless live input.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from voxwatch.errors import AudioDecodeError, VoxwatchError
from voxwatch.pipeline.resampler import StreamResampler
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import StreamReporter, resample, to_mono, write_blocks

RAW_DTYPES: dict[str, np.dtype] = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}
STDIN_NAME = "-"


@dataclass(frozen=True)
class RawFormat:
    """Headerless PCM on standard input."""

    rate: int
    sample_format: str = "s16le"
    channels: int = 1

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.channels <= 0:
            raise VoxwatchError("--raw-rate and --raw-channels must be > 0")
        if self.sample_format not in RAW_DTYPES:
            raise VoxwatchError(f"--raw-format must be one of {', '.join(RAW_DTYPES)}")

    def decode(self, data: bytes) -> np.ndarray:
        """Whole frames of ``data`` as mono float32 in [-1, 1] at ``rate``."""
        dtype = RAW_DTYPES[self.sample_format]
        frame = dtype.itemsize * self.channels
        samples = np.frombuffer(data[: len(data) - len(data) % frame], dtype).reshape(-1, self.channels)
        audio = samples.astype(np.float32) / (32768.0 if dtype.kind == "i" else 1.0)
        return to_mono(audio)


def decode_encoded(data: bytes) -> np.ndarray:
    """A whole WAV/FLAC/OGG stream to 16 kHz mono float32."""
    import soundfile as sf

    if not data:
        raise AudioDecodeError("standard input: no data (for raw PCM give --raw-rate)")
    try:
        audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).split(": ", 1)[-1].strip().rstrip(".") or exc.__class__.__name__
        raise AudioDecodeError(f"standard input: cannot decode audio ({reason}); for raw PCM give --raw-rate") from None
    return resample(to_mono(audio), int(rate))


def read_all(stream: BinaryIO, raw: RawFormat | None) -> np.ndarray:
    """Everything on ``stream`` as 16 kHz mono float32 (``score -``)."""
    data = stream.read()
    if raw is None:
        return decode_encoded(data)
    return resample(raw.decode(data), raw.rate)


class StdinSource:
    """A replay stream read from a binary pipe: raw PCM block by block, an encoded stream once it has ended."""

    def __init__(self, stream: BinaryIO, raw: RawFormat | None, realtime: bool = False, block_ms: int = 20) -> None:
        self.stream = stream
        self.raw = raw
        self.realtime = realtime
        self.block = SAMPLE_RATE * block_ms // 1000
        self.description = "standard input" + (f" ({raw.sample_format} {raw.rate} Hz)" if raw else "")

    def run(self, ring: RingBuffer, stop: threading.Event, report: StreamReporter) -> None:
        if self.raw is None:
            write_blocks(read_all(self.stream, None), ring, stop, self.block, realtime=self.realtime)
            return
        raw = self.raw
        resampler = StreamResampler(raw.rate) if raw.rate != SAMPLE_RATE else None
        frame = RAW_DTYPES[raw.sample_format].itemsize * raw.channels
        chunk_bytes = max(1, raw.rate * 20 // 1000) * frame  # 20 ms of input per read
        pending = b""
        t0, written = time.monotonic(), 0
        while not stop.is_set():
            data = self.stream.read1(chunk_bytes) if hasattr(self.stream, "read1") else self.stream.read(chunk_bytes)
            if not data:
                break
            pending += data
            usable = len(pending) - len(pending) % frame
            audio, pending = raw.decode(pending[:usable]), pending[usable:]
            if resampler:
                audio = resampler.process(audio)
            if len(audio):
                write_blocks(audio, ring, stop, self.block, realtime=False)
                written += len(audio)
            if self.realtime:  # a live pipe paces itself; this paces a fast producer (a file piped in) by the clock
                stop.wait(max(0.0, t0 + written / SAMPLE_RATE - time.monotonic()))
