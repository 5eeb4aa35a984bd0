"""Telephone codec chains through ffmpeg (in a subprocess), and the telephone channels enrolled into voiceprints.

Real calls reach a detector through a narrowband codec, not through a clean resampler: the quantiser of G.711,
the ADPCM of G.726, the RPE-LTP of GSM 06.10, the parametric vocoder of Codec2, Opus and Speex at low bitrates,
and now and then lost packets that the receiver fills with silence or with the last frame. ``apply_call()``
puts 16 kHz float audio through one such chain::

    300-3400 Hz band filter -> 8 kHz -> ffmpeg encoder -> bytes -> ffmpeg decoder -> 16 kHz -> [packet loss]

Audio goes in and out through pipes (no files); the output has the input's length. Without ffmpeg on PATH every
entry point raises one :class:`TelephoneError` line.

The chains live here, below every front end, because enrolment uses them (``enrolment_channels``: one copy of each
enrolment unit per chain this ffmpeg has, so that a genuine call is near its own channel of the voiceprint), and
the evaluation and training (``voxwatch.training.telephone``: random calls, telephone copies of a set) use the
same list (``chain_transforms``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from voxwatch.errors import VoxwatchError

SAMPLE_RATE = 16000
NARROW_RATE = 8000
BAND_HZ = (300.0, 3400.0)
FRAME_S = 0.02  # one packet: 20 ms, the usual RTP packetisation of G.711/G.726/GSM/Opus/Speex


class TelephoneError(VoxwatchError):
    """ffmpeg is missing or a codec chain failed."""


@dataclass(frozen=True)
class Chain:
    """One codec: ffmpeg encoder options per variant (bitrate or mode), the container used on the pipe."""

    name: str
    encoder: str
    container: str
    variants: tuple[tuple[str, ...], ...]


CHAINS: tuple[Chain, ...] = (
    Chain("ulaw", "pcm_mulaw", "wav", (("-c:a", "pcm_mulaw"),)),
    Chain("alaw", "pcm_alaw", "wav", (("-c:a", "pcm_alaw"),)),
    Chain("gsm", "libgsm", "gsm", (("-c:a", "libgsm"),)),
    Chain("g726", "g726", "wav", tuple(("-c:a", "g726", "-b:a", f"{k}k") for k in (16, 24, 32, 40))),
    Chain("codec2", "libcodec2", "codec2", tuple(("-c:a", "libcodec2", "-mode", m) for m in ("3200", "2400", "1600"))),
    Chain("opus", "libopus", "ogg", tuple(("-c:a", "libopus", "-b:a", f"{k}k", "-application", "voip",
                                           "-cutoff", "4000") for k in (8, 12, 16))),
    Chain("speex", "libspeex", "ogg", tuple(("-c:a", "libspeex", "-cbr_quality", str(q)) for q in (3, 5, 8))),
)
CHAIN_NAMES = tuple(c.name for c in CHAINS)


def ffmpeg_path() -> str:
    """ffmpeg's path, or one TelephoneError line saying how to get it."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise TelephoneError("ffmpeg not found on PATH: the telephone codec chains need it "
                             "(Debian: apt-get install ffmpeg)")
    return path


@lru_cache(maxsize=4)
def _encoders(ffmpeg: str) -> frozenset[str]:
    out = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "A":
            names.add(parts[1])
    return frozenset(names)


def available_chains() -> tuple[str, ...]:
    """The codec chains this ffmpeg can encode (Speex, for one, is not in every build)."""
    encoders = _encoders(ffmpeg_path())
    return tuple(c.name for c in CHAINS if c.encoder in encoders)


def _chain(name: str) -> Chain:
    for chain in CHAINS:
        if chain.name == name:
            return chain
    raise TelephoneError(f"unknown codec {name!r}; one of {', '.join(CHAIN_NAMES)}")


@lru_cache(maxsize=1)
def _band_sos() -> np.ndarray:
    from scipy.signal import butter

    return butter(4, BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")


def band_filter(audio: np.ndarray) -> np.ndarray:
    """The telephone band, 300-3400 Hz (8th-order Butterworth band-pass, causal like a handset's filter)."""
    from scipy.signal import sosfilt

    return sosfilt(_band_sos(), np.asarray(audio, np.float64)).astype(np.float32)


def _run(cmd: list[str], data: bytes, what: str) -> bytes:
    proc = subprocess.run(cmd, input=data, capture_output=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise TelephoneError(f"ffmpeg {what} failed: {err[-1] if err else 'exit code ' + str(proc.returncode)}")
    return proc.stdout


def codec_round_trip(audio: np.ndarray, codec: str, variant: int = 0) -> np.ndarray:
    """Encode 16 kHz float audio at 8 kHz with ``codec`` (its ``variant``: a bitrate or mode) and decode it back
    to 16 kHz, through two ffmpeg processes and pipes; same length out."""
    chain = _chain(codec)
    ffmpeg = ffmpeg_path()
    x = np.clip(np.asarray(audio, np.float32), -1.0, 1.0)
    if len(x) == 0:
        return x.copy()
    opts = list(chain.variants[variant % len(chain.variants)])
    quiet = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    coded = _run(quiet + ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
                          "-ar", str(NARROW_RATE), *opts, "-f", chain.container, "pipe:1"],
                 x.tobytes(), f"{codec} encoding")
    raw = _run(quiet + ["-f", chain.container, "-i", "pipe:0", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1",
                        "pipe:1"], coded, f"{codec} decoding")
    y = np.frombuffer(raw, np.float32)
    n = len(x)
    return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)


def packet_loss(audio: np.ndarray, rate: float, rng: np.random.Generator, mode: str = "zero",
                frame_s: float = FRAME_S) -> tuple[np.ndarray, np.ndarray]:
    """Lose each 20 ms frame with probability ``rate``: ``zero`` leaves silence, ``repeat`` plays the previous
    frame again (the crudest concealment). Returns the audio and the indices of the lost frames."""
    if mode not in ("zero", "repeat"):
        raise TelephoneError(f"unknown packet loss mode {mode!r} (zero or repeat)")
    x = np.array(audio, np.float32, copy=True)
    size = int(round(frame_s * SAMPLE_RATE))
    n_frames = len(x) // size
    lost = np.flatnonzero(rng.random(n_frames) < rate)
    for k in lost:
        start = k * size
        if mode == "repeat" and k > 0:
            x[start : start + size] = x[start - size : start]
        else:
            x[start : start + size] = 0.0
    return x, lost


def apply_call(audio: np.ndarray, call: dict, rng: np.random.Generator) -> np.ndarray:
    """``audio`` through the band filter, the call's codec and its packet loss; same length, peak at most 1."""
    x = codec_round_trip(band_filter(audio), call["codec"], call["variant"])
    if call["loss_rate"] > 0:
        x, _ = packet_loss(x, call["loss_rate"], rng, call["loss_mode"])
    return np.clip(x, -1.0, 1.0).astype(np.float32)



Transform = Callable[[np.ndarray], np.ndarray]


def chain_transforms(seed: int = 0) -> list[tuple[str, Callable[[np.ndarray, int], np.ndarray]]]:
    """One transform per codec chain this ffmpeg has (band filter, codec round trip; no packet loss; the chain's
    variant, a bitrate or mode, in turn per ``index``: index 0 is the variant enrolment uses)."""
    variants = {c.name: len(c.variants) for c in CHAINS}

    def through(name: str) -> Callable[[np.ndarray, int], np.ndarray]:
        def transform(audio: np.ndarray, index: int) -> np.ndarray:
            call = {"codec": name, "variant": index % variants[name], "loss_rate": 0.0, "loss_mode": "zero"}
            return apply_call(audio, call, np.random.default_rng([seed, index]))
        return transform

    return [(name, through(name)) for name in available_chains()]


def enrolment_channels(warn: Callable[[str], None] | None = None) -> dict[str, Transform]:
    """The telephone channels ``voxwatch.voices.enrol.enrol(channels=...)`` enrols by default: every codec chain
    this ffmpeg has (its first variant, no packet loss; what ``voxwatch eval --voices --enrol-telephone``
    measures). Without ffmpeg (or with no chain in it): none, and one ``warn`` line saying the voiceprint holds
    clean speech only."""
    try:
        chains = chain_transforms()
    except TelephoneError as exc:
        chains, why = [], str(exc)
    else:
        why = "this ffmpeg has none of the telephone codec chains"
    if not chains:
        if warn is not None:
            warn(f"enrolling clean speech only, no telephone copies ({why}); a genuine call may then be taken "
                 "for someone else")
        return {}
    return {name: _first_variant(transform) for name, transform in chains}


def _first_variant(transform: Callable[[np.ndarray, int], np.ndarray]) -> Transform:
    def copy(audio: np.ndarray) -> np.ndarray:
        return transform(audio, 0)
    return copy
