"""A telephone channel through real codecs (ffmpeg in a subprocess), for training and for evaluation copies.

Real calls reach a detector through a narrowband codec, not through a clean resampler: the quantiser of G.711,
the ADPCM of G.726, the RPE-LTP of GSM 06.10, the parametric vocoder of Codec2, Opus and Speex at low bitrates,
and now and then lost packets that the receiver fills with silence or with the last frame. ``telephone()``
puts 16 kHz float audio through one such chain::

    300-3400 Hz band filter -> 8 kHz -> ffmpeg encoder -> bytes -> ffmpeg decoder -> 16 kHz -> [packet loss]

Audio goes in and out through pipes (no files); the output has the input's length. The codec, its bitrate or
mode and the packet loss are drawn from the ``numpy.random.Generator`` passed in, so a seed reproduces a copy.
Without ffmpeg on PATH every entry point raises one :class:`TelephoneError` line.

``python -m voxwatch.training.telephone copy SRC OUT --codec all --split dev`` writes telephone copies of a
labelled set (FLAC and a ``manifest.csv`` in the corpus format, each source suffixed with ``+codec``), so that
``voxwatch eval --data OUT`` measures false alarms per hour on the same speech as it arrives over a call.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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


@dataclass(frozen=True)
class TelephoneSettings:
    """Which chains a random call may take and how often it loses packets (``p_loss`` of the calls lose
    ``loss_rate`` of their frames, zeroed or repeated)."""

    codecs: tuple[str, ...] = CHAIN_NAMES
    p_loss: float = 0.3
    loss_rate: tuple[float, float] = (0.01, 0.05)


def draw_call(rng: np.random.Generator, settings: TelephoneSettings = TelephoneSettings(),
              codecs: tuple[str, ...] | None = None) -> dict:
    """One random call: codec, variant, packet loss rate (0 for none) and mode, all from ``rng``."""
    names = codecs if codecs is not None else tuple(c for c in settings.codecs if c in available_chains())
    if not names:
        raise TelephoneError("no telephone codec chain available in this ffmpeg")
    codec = names[int(rng.integers(len(names)))]
    variant = int(rng.integers(len(_chain(codec).variants)))
    lossy = rng.random() < settings.p_loss
    rate = float(rng.uniform(*settings.loss_rate)) if lossy else 0.0
    mode = "repeat" if rng.random() < 0.5 else "zero"
    return {"codec": codec, "variant": variant, "loss_rate": rate, "loss_mode": mode}


def apply_call(audio: np.ndarray, call: dict, rng: np.random.Generator) -> np.ndarray:
    """``audio`` through the band filter, the call's codec and its packet loss; same length, peak at most 1."""
    x = codec_round_trip(band_filter(audio), call["codec"], call["variant"])
    if call["loss_rate"] > 0:
        x, _ = packet_loss(x, call["loss_rate"], rng, call["loss_mode"])
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def telephone(audio: np.ndarray, rng: np.random.Generator,
              settings: TelephoneSettings = TelephoneSettings()) -> np.ndarray:
    """One random telephone call for a 16 kHz float clip (same length out): band, codec chain, packet loss."""
    return apply_call(audio, draw_call(rng, settings), rng)


# ---------------------------------------------------------------------------------------------------------------
# telephone copies of a labelled set, for `voxwatch eval --data COPY`


def _codec_list(text: str) -> tuple[str, ...]:
    available = available_chains()
    if text == "all":
        return available
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        _chain(name)
        if name not in available:
            raise TelephoneError(f"codec {name!r}: this ffmpeg has no {_chain(name).encoder} encoder")
    return names


def make_copies(src: Path, out: Path, codecs: tuple[str, ...], splits: tuple[str, ...], each: bool = False,
                p_loss: float = 0.3, seed: int = 0, fmt: str = "auto") -> dict:
    """Telephone copies of ``src``'s clips in ``splits`` under ``out`` (``audio/`` + ``manifest.csv``).

    Each clip gets one call (codec drawn in turn per clip from a seeded generator) or, with ``each``, one copy per
    codec. Labels, speakers, splits and durations are kept; each source becomes ``source+codec``, each licence
    says the copy was made here. Returns counts per codec and label.
    """
    import soundfile as sf

    from voxwatch.pipeline.sources import load_audio
    from voxwatch.training.datasets import load_dataset, write_manifest

    clips = [c for c in load_dataset(src, fmt) if c.split in splits]
    if not clips:
        raise TelephoneError(f"{src}: no clips in split(s) {', '.join(splits)}")
    settings = TelephoneSettings(codecs=codecs, p_loss=p_loss)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    rows: list[list[str]] = []
    counts: dict[str, dict[str, int]] = {}
    for index, clip in enumerate(clips):
        audio = load_audio(clip.path)
        rng = np.random.default_rng([seed, index])
        chosen = codecs if each else (codecs[index % len(codecs)],)
        for codec in chosen:
            call = draw_call(rng, settings, codecs=(codec,))
            y = apply_call(audio, call, rng)
            loss = f"-loss{round(100 * call['loss_rate'])}{call['loss_mode'][0]}" if call["loss_rate"] else ""
            name = f"audio/{clip.split}/{index:05d}-{codec}{call['variant']}{loss}.flac"
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            sf.write(out / name, y, SAMPLE_RATE, subtype="PCM_16")
            licence = (clip.license or "not stated") + f"; through {codec} here (telephone copy)"
            rows.append([name, clip.label_name, f"{clip.source}+{codec}", clip.speaker, clip.split,
                         f"{len(y) / SAMPLE_RATE:.3f}", licence])
            counts.setdefault(codec, {"real": 0, "fake": 0})[clip.label_name] += 1
    write_manifest(out, rows)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voxwatch.training.telephone",
                                     description="Telephone codec chains through ffmpeg.")
    sub = parser.add_subparsers(dest="command", required=True)
    copy = sub.add_parser("copy", help="telephone copies of a labelled set, for voxwatch eval --data OUT")
    copy.add_argument("src", type=Path, help="labelled set (any layout voxwatch reads)")
    copy.add_argument("out", type=Path, help="output folder (audio/ and manifest.csv)")
    copy.add_argument("--codec", default="all",
                      help=f"comma-separated codecs from {', '.join(CHAIN_NAMES)}, or all (default: all this "
                           "ffmpeg has)")
    copy.add_argument("--split", default="dev", help="comma-separated splits to copy (default dev)")
    copy.add_argument("--each", action="store_true",
                      help="one copy per codec for every clip (default: one copy per clip, codecs in turn)")
    copy.add_argument("--loss", type=float, default=0.3, metavar="P",
                      help="share of copies losing 1-5%% of their 20 ms packets, zeroed or repeated (default 0.3)")
    copy.add_argument("--seed", type=int, default=0)
    sub.add_parser("codecs", help="list the codec chains this ffmpeg can encode")
    args = parser.parse_args(argv)
    try:
        if args.command == "codecs":
            print(" ".join(available_chains()))
            return 0
        splits = tuple(s.strip() for s in args.split.split(",") if s.strip())
        counts = make_copies(args.src, args.out, _codec_list(args.codec), splits, each=args.each,
                             p_loss=args.loss, seed=args.seed)
    except VoxwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for codec, n in counts.items():
        print(f"{codec}: {n['real']} real, {n['fake']} fake")
    print(f"wrote {args.out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
