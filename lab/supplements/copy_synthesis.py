"""Vocoded twins of real training speech: each chosen real clip analysed and resynthesised by a vocoder.

Why: the labelled sets' fakes come from a few TTS voices, while their real speech comes from other people in
other languages, so a model can separate the classes by who speaks and in what language instead of by how the
waveform was made, and then flags unseen real speakers (the false alarms users feel). A vocoded twin has the
same speaker, words, language, loudness and channel as its real original; only the signal path differs, which
leaves the vocoder's traces as the one cue (the WaveFake recipe, and "vocoded spoofs" in Wang & Yamagishi,
ICASSP 2023). The corpus already has WORLD / Griffin-Lim / LPC twins of LibriSpeech and LJSpeech; this adds
twins of every real training source of both sets, with three vocoders:

* ``copy-world``: WORLD (pyworld) with its spectral envelope and aperiodicity reduced to mel-cepstra and
  band aperiodicities, as statistical TTS systems (Merlin, many HTS voices) produce them;
* ``copy-mlsa``: mel-cepstral analysis and an MLSA filter excited by a pulse train or noise (pysptk), the
  classic HTS vocoder;
* ``copy-griffinlim``: an 80-band mel spectrogram inverted by Griffin-Lim, the phase-less path of early
  neural TTS;
* ``copy-psola`` (only when asked for with ``--vocoder``): short units of the clip moved to new pitches and
  lengths by time-domain PSOLA and joined with small jumps, the traces of diphone concatenation (festival's
  diphone voices, MBROLA) rather than of a vocoder.

Only clips of split ``train`` are vocoded, and every twin stays in ``train`` (dev and test are untouched, so
selection stays comparable with earlier runs). The output manifest lists only the twins, with absolute paths;
train with it as a third ``--data``. Needs the PyPI packages pyworld and pysptk (``pip install -r
lab/requirements.txt``), which are not among voxwatch's dependencies.

    python -m lab.supplements.copy_synthesis --data ../shared/data/corpus --data ../shared/data/extra \\
        --out ../vocoded
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import istft, stft

from lab.supplements.common import GeneratedClip, write_set
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.training.pool import map_with_progress

HOP_MS = 5.0


@dataclass(frozen=True)
class Job:
    """One twin to make: the real clip, its row's identity, the vocoder and the twin's name in the output."""

    source_path: Path
    speaker: str
    vocoder: str
    name: str
    seed: int
    license: str = ""  # the real clip's licence, which its twin inherits


def _f0(x: np.ndarray, rng: random.Random) -> np.ndarray:
    import pyworld as pw

    f0, t = pw.dio(x, SAMPLE_RATE, frame_period=HOP_MS, f0_floor=60.0, f0_ceil=500.0)
    return pw.stonemask(x, f0, t, SAMPLE_RATE)


def vocode_world(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """WORLD analysis, envelope as mel-cepstrum of order 24-59 and coded aperiodicity, then WORLD synthesis."""
    import pysptk
    import pyworld as pw

    f0 = _f0(x, rng)
    _, t = pw.dio(x, SAMPLE_RATE, frame_period=HOP_MS)
    sp = pw.cheaptrick(x, f0, t, SAMPLE_RATE)
    ap = pw.d4c(x, f0, t, SAMPLE_RATE)
    fft_size = pw.get_cheaptrick_fft_size(SAMPLE_RATE)
    order = rng.randint(24, 59)
    mc = pysptk.sp2mc(sp, order=order, alpha=0.42)
    sp = pysptk.mc2sp(mc, alpha=0.42, fftlen=fft_size)
    ap = pw.decode_aperiodicity(np.ascontiguousarray(pw.code_aperiodicity(ap, SAMPLE_RATE)), SAMPLE_RATE, fft_size)
    return pw.synthesize(f0, np.ascontiguousarray(sp), ap, SAMPLE_RATE, frame_period=HOP_MS)


def vocode_mlsa(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """Mel-cepstral analysis (order 24-39) and an MLSA filter driven by pulses in voiced frames, noise elsewhere."""
    import pysptk
    from pysptk.synthesis import MLSADF, Synthesizer

    hop = int(SAMPLE_RATE * HOP_MS / 1000)
    frame_len = 512
    f0 = _f0(x, rng)
    padded = np.pad(x, (frame_len // 2, frame_len // 2))
    n = min(len(f0), (len(padded) - frame_len) // hop + 1)
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_len)[::hop][:n] * np.blackman(frame_len)
    order = rng.randint(24, 39)
    mc = pysptk.mcep(frames, order=order, alpha=0.42, etype=1, eps=1e-6)
    b = pysptk.mc2b(mc, alpha=0.42)
    pitch = np.where(f0[:n] > 0, SAMPLE_RATE / np.maximum(f0[:n], 1e-3), 0.0)
    excitation = pysptk.excite(np.ascontiguousarray(pitch), hop)
    synthesizer = Synthesizer(MLSADF(order=order, alpha=0.42), hop)
    return synthesizer.synthesis(excitation, np.ascontiguousarray(b))


def _mel_matrix(n_fft: int, bands: int) -> np.ndarray:
    from python_speech_features import get_filterbanks

    return get_filterbanks(nfilt=bands, nfft=n_fft, samplerate=SAMPLE_RATE, lowfreq=0, highfreq=SAMPLE_RATE // 2)


def vocode_griffinlim(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """An 80-band mel power spectrogram, its least-squares inverse, and 16-48 Griffin-Lim iterations."""
    n_fft, hop = 1024, 256
    _, _, spec = stft(x, SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - hop)
    mel = _mel_matrix(n_fft, 80)
    magnitude = np.sqrt(np.maximum(np.linalg.pinv(mel) @ (mel @ np.abs(spec) ** 2), 0.0))
    phase = np.exp(2j * np.pi * np.random.default_rng(rng.randrange(2**32)).random(magnitude.shape))
    y = x
    for _ in range(rng.randint(16, 48)):
        _, y = istft(magnitude * phase, SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - hop)
        _, _, rebuilt = stft(y, SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - hop)
        rebuilt = rebuilt[:, : magnitude.shape[1]]
        if rebuilt.shape[1] < magnitude.shape[1]:
            rebuilt = np.pad(rebuilt, ((0, 0), (0, magnitude.shape[1] - rebuilt.shape[1])))
        phase = np.exp(1j * np.angle(rebuilt))
    return y


def _pitch_marks(x: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Analysis marks one period apart in voiced frames (moved onto the waveform's peak), every 5 ms elsewhere."""
    hop = int(SAMPLE_RATE * HOP_MS / 1000)
    marks = []
    t = 0
    while t < len(x):
        frame = min(t // hop, len(f0) - 1)
        period = int(SAMPLE_RATE / f0[frame]) if f0[frame] > 0 else hop
        if f0[frame] > 0:
            lo, hi = max(t - period // 3, marks[-1] + period // 2 if marks else 0), min(t + period // 3, len(x))
            if hi > lo:
                t = lo + int(np.argmax(np.abs(x[lo:hi])))
        marks.append(t)
        t += max(period, 16)
    return np.asarray(marks, dtype=np.int64)


def vocode_psola(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """Concatenation of 50-180 ms units with a new pitch and duration each, by time-domain PSOLA.

    The diphone engines (festival's diphone voices, MBROLA) build speech from short recorded units, each moved
    to a target pitch and length by pitch-synchronous overlap-add and joined to the next with a small jump in
    the recording; that leaves grain-by-grain periodicity, pitch that steps at the joins, and spectral seams,
    not a vocoder's envelope. This makes the same traces from the real speaker's own clip.
    """
    f0 = _f0(x, rng)
    hop = int(SAMPLE_RATE * HOP_MS / 1000)
    marks = _pitch_marks(x, f0)
    if len(marks) < 4:
        return x.copy()
    periods = np.diff(marks, append=marks[-1] + hop)
    voiced = f0[np.minimum(marks // hop, len(f0) - 1)] > 0
    units = []
    start = 0
    while start < len(x):
        end = min(len(x), start + int(SAMPLE_RATE * rng.uniform(0.05, 0.18)))
        units.append((start, end, rng.uniform(0.8, 1.25), rng.uniform(0.8, 1.25)))
        start = end
    # time scales renormalised so the output keeps the original's length (length is not to be a cue)
    stretch = sum((e - s) / ts for s, e, _, ts in units) / len(x)
    y = np.zeros(len(x) + 2 * int(SAMPLE_RATE / 50))
    out = 0.0
    for s, e, pitch, ts in units:
        a = float(s + rng.randint(-hop, hop))  # the join: a little before or after where the last unit ended
        ts *= stretch
        while a < e and out < len(x):
            k = int(np.clip(np.searchsorted(marks, a), 0, len(marks) - 1))
            m, period = int(marks[k]), int(max(periods[k], 16))
            grain = x[max(m - period, 0): m + period]
            grain = grain * np.hanning(len(grain) + 2)[1:-1]
            at = int(out) - (m - max(m - period, 0))
            lo = max(at, 0)
            y[lo: at + len(grain)] += grain[lo - at:]
            step = period / pitch if voiced[k] else period
            out += step
            a += step / ts
    return y[: len(x)]


VOCODERS: dict[str, Callable[[np.ndarray, random.Random], np.ndarray]] = {
    "copy-world": vocode_world, "copy-mlsa": vocode_mlsa, "copy-griffinlim": vocode_griffinlim,
    "copy-psola": vocode_psola,
}
DEFAULT_VOCODERS = ("copy-world", "copy-mlsa", "copy-griffinlim")


def match_level(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The twin at the original's length and RMS level, so neither loudness nor length tells them apart."""
    y = np.asarray(y, dtype=np.float64)[: len(x)]
    if len(y) < len(x):
        y = np.pad(y, (0, len(x) - len(y)))
    rms_x, rms_y = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    y = y * (rms_x / rms_y) if rms_y > 1e-9 else y
    peak = np.max(np.abs(y)) if len(y) else 0.0
    return y * (0.99 / peak) if peak > 0.99 else y


def make_twin(job: Job) -> GeneratedClip:
    """Vocode one clip (in a worker process; the main one writes it)."""
    from voxwatch.pipeline.sources import load_audio

    x = load_audio(str(job.source_path)).astype(np.float64)
    y = match_level(VOCODERS[job.vocoder](x, random.Random(job.seed)), x)
    return GeneratedClip(job.name, y.astype(np.float32), "spoof", job.vocoder, job.speaker, twin_license(job))


def twin_license(job: Job) -> str:
    """The twin's licence: the real clip's own (a twin is a derivative of it) and how it was made, so that the
    model card of anything trained on twins lists the licences of the speech they come from."""
    return f"{job.license or 'not stated'}; vocoded here ({job.vocoder})"


def plan(data: list[Path], share: float, seed: int,
         vocoders: tuple[str, ...] = DEFAULT_VOCODERS) -> list[Job]:
    """One twin for a ``share`` of each set's real train clips (at least one per speaker), vocoders in turn."""
    from voxwatch.training.datasets import load_dataset

    rng = random.Random(seed)
    jobs: list[Job] = []
    names = list(vocoders)
    for root in data:
        clips = [c for c in load_dataset(root) if c.split == "train" and c.label == 0]
        seen: set[str] = set()
        for clip in clips:
            first = clip.speaker not in seen
            seen.add(clip.speaker)
            if not first and rng.random() >= share:
                continue
            vocoder = names[len(jobs) % len(names)]
            jobs.append(Job(clip.path.resolve(), clip.speaker, vocoder, f"{root.name}-{clip.path.stem}-{vocoder}",
                            rng.randrange(2**31), clip.license))
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", required=True,
                        help="a labelled set whose real train clips get twins (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (audio/ and manifest.csv)")
    parser.add_argument("--share", type=float, default=0.5,
                        help="share of real train clips vocoded, besides one per speaker (0.5)")
    parser.add_argument("--vocoder", action="append", choices=sorted(VOCODERS), dest="vocoders",
                        help="a resynthesis to use, in turn with the others given (repeatable; default: "
                             + ", ".join(DEFAULT_VOCODERS) + ")")
    parser.add_argument("--workers", type=int, default=2, help="processes (2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0.0 <= args.share <= 1.0:
        parser.error("--share must be between 0 and 1")
    try:
        import pysptk  # noqa: F401
        import pyworld  # noqa: F401
    except ImportError:
        parser.exit(2, "copy_synthesis needs pyworld and pysptk: pip install -r lab/requirements.txt\n")
    jobs = plan(args.data, args.share, args.seed, tuple(args.vocoders or DEFAULT_VOCODERS))
    clips = map_with_progress(make_twin, jobs, "vocoding", args.workers, chunksize=4)
    rows = write_set(args.out, clips, len(clips), "writing")
    minutes = sum(float(row[5]) for row in rows) / 60
    print(f"{len(jobs)} twins, {minutes:.1f} min, in {args.out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
