"""Random telephone calls for training, and telephone copies of a labelled set for evaluation.

The codec chains themselves (band filter, ffmpeg round trip, packet loss) are ``voxwatch.voices.telephone``
(enrolment uses them too) and are re-exported here. ``telephone()`` puts 16 kHz float audio through one random
call::

    300-3400 Hz band filter -> 8 kHz -> ffmpeg encoder -> bytes -> ffmpeg decoder -> 16 kHz -> [packet loss]

The codec, its bitrate or mode and the packet loss are drawn from the ``numpy.random.Generator`` passed in, so a
seed reproduces a copy. Without ffmpeg on PATH every entry point raises one :class:`TelephoneError` line.

``python -m voxwatch.training.telephone copy SRC OUT --codec all --split dev`` writes telephone copies of a
labelled set (FLAC and a ``manifest.csv`` in the corpus format, each source suffixed with ``+codec``), so that
``voxwatch eval --data OUT`` measures false alarms per hour on the same speech as it arrives over a call.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.voices.telephone import (  # noqa: F401  (the codec chains, re-exported for training and tests)
    BAND_HZ,
    CHAIN_NAMES,
    CHAINS,
    FRAME_S,
    NARROW_RATE,
    SAMPLE_RATE,
    Chain,
    TelephoneError,
    _chain,
    apply_call,
    available_chains,
    band_filter,
    codec_round_trip,
    ffmpeg_path,
    packet_loss,
)


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
