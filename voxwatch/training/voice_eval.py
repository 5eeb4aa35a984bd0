"""Clone watch's person-of-interest evaluation: ``voxwatch eval --voices`` (onnxruntime, no torch).

A set with a ``manifest.csv`` whose spoof clips name, in ``speaker``, the speaker they imitate holds everything:
for each *target* (a speaker with at least k + 1 real clips and at least one clone in the split) enrol k real
clips with the product's enrolment (``voxwatch.voices.enrol``), then

* **genuine** trials: the target's held-out real clips (optionally also through every telephone codec chain of
  ``voxwatch.voices.telephone``), checked against the target's voice;
* **clone** trials: the target's clones (every spoof clip naming the target), checked against the target's voice,
  reported per system (the clone's ``source``) and overall;
* **other** trials: the real clips of people who are not enrolled (the split's other speakers, and those of
  ``--others`` sets), checked against *all* enrolled voices as the daemon checks them (the nearest voice).

k is 1, 3 or ``all-2`` (all of the target's real clips but two). Each target gives one fold per real clip: fold f
enrols the k clips from position f on (in path order, wrapping round) and holds the rest out, so that every clip
is held out in some fold. Enrolment's 10 s minimum is lifted (a page's clip is often shorter): the output says so.

Figures: ``voxwatch.training.voice_figures``.

With a verifier (``VerifierScores``: the bundled one, ``--fusion on``) each checked clip, and each telephone copy,
also gets the verifier's raw score of its audio (its last ``max_s`` seconds, as the daemon hands an utterance to
the verifier), so that the figures can be given with clone watch fused with it (``voxwatch.voices.fusion``) beside
S-norm alone; the scores are cached as the embeddings are (keyed by the verifier's sha256 and the audio's).

Embeddings are cached in memory, and in ``cache_dir`` when given (one ``.npz`` per speaker encoder, keyed by the
sha256 of the speech samples the encoder hears, so a file and its telephone copies each have their own entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
from voxwatch.training.datasets import Clip, DatasetError
from voxwatch.training.voice_cache import CachingEncoder, VerifierScores, audio_sha
from voxwatch.training.voice_figures import CLEAN, Trial
from voxwatch.voices import calibration as cal
from voxwatch.voices.check import VoiceMatch, check, match
from voxwatch.voices.enrol import Recording, enrol
from voxwatch.voices.voiceprint import Voiceprint

K_CHOICES = ("1", "3", "all-2")
ALL = "all"  # the "system" of the overall figures


class VoiceEvalError(VoxwatchError):
    """The set cannot be evaluated for clone watch (no manifest, no speakers, no target): one line says why."""


def parse_ks(text: str) -> tuple[str, ...]:
    """``"1,3,all-2"`` -> ('1', '3', 'all-2'); a positive integer or ``all-2`` each."""
    ks = tuple(k.strip() for k in text.split(",") if k.strip())
    for k in ks:
        if k != "all-2" and not (k.isdigit() and int(k) >= 1):
            raise VoiceEvalError(f"--k {text!r}: each k is a positive whole number or 'all-2'")
    if not ks:
        raise VoiceEvalError("--k: give at least one k (e.g. 1,3,all-2)")
    return tuple(dict.fromkeys(ks))


def k_for(k: str, n_real: int) -> int:
    """How many of a target's ``n_real`` real clips k enrols (0: the target does not qualify for this k)."""
    size = n_real - 2 if k == "all-2" else int(k)
    return size if 1 <= size <= n_real - 1 else 0


# ---- the set -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    speaker: str
    reals: tuple[Clip, ...]  # in path order
    clones: tuple[Clip, ...]


@dataclass(frozen=True)
class Plan:
    targets: dict[str, Target]  # speaker -> target (at least one real clip and one clone)
    others: tuple[Clip, ...]  # real clips of speakers without clones (other people, never enrolled)


def plan(clips: Sequence[Clip], split: str = "all", real_split: str = "same",
         extra_others: Sequence[Clip] = ()) -> Plan:
    """Targets and other people's real clips of ``split`` (``all``: every split). A target's clones are the spoof
    clips of the split that name it; its real clips come from the split too, or, with ``real_split="any"``, from
    every split of the set (the clones' split then decides where a target is measured: a set that deals its
    systems to dev and test apart from its speakers). Others: the split's real clips of speakers who are not
    targets, and ``extra_others`` (real clips of other sets) unless their speaker is a target."""
    if real_split not in ("same", "any"):
        raise VoiceEvalError(f"real_split must be 'same' or 'any', not {real_split!r}")

    def in_split(clip: Clip) -> bool:
        return split == "all" or clip.split == split

    reals: dict[str, list[Clip]] = {}
    clones: dict[str, list[Clip]] = {}
    for clip in clips:
        if not clip.speaker:
            continue
        if clip.label and in_split(clip):
            clones.setdefault(clip.speaker, []).append(clip)
        elif not clip.label and (real_split == "any" or in_split(clip)):
            reals.setdefault(clip.speaker, []).append(clip)
    targets = {s: Target(s, tuple(sorted(reals[s], key=lambda c: str(c.path))),
                         tuple(sorted(clones[s], key=lambda c: str(c.path))))
               for s in sorted(reals) if s in clones}
    others = [c for c in clips if not c.label and in_split(c) and c.speaker not in targets]
    others += [c for c in extra_others if c.label == 0 and c.speaker not in targets]
    return Plan(targets, tuple(others))


def folds(n_real: int, size: int) -> list[tuple[list[int], list[int]]]:
    """(enrolled, held out) clip positions of each fold: fold f enrols ``size`` clips from position f on."""
    out = []
    for f in range(n_real):
        enrolled = [(f + j) % n_real for j in range(size)]
        out.append((enrolled, [i for i in range(n_real) if i not in enrolled]))
    return out


# ---- trials ---------------------------------------------------------------------------------------------------------

@dataclass
class Embedded:
    """A clip's embedding per condition (absent where it has too little speech), its duration and its audio
    (kept for real clips of targets: enrolment reads it)."""

    clip: Clip
    duration_s: float
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    audio: np.ndarray | None = None
    verifier: dict[str, float] = field(default_factory=dict)  # the verifier's score per condition (if scored)


Scorer = Callable[[np.ndarray, Voiceprint], VoiceMatch]
Enroller = Callable[[str, Sequence[Recording]], Voiceprint]


def product_enroller(encoder: OnnxVoiceEncoder, scoring: str = cal.SCORING,
                     channels: Sequence[tuple[str, Callable[[np.ndarray, int], np.ndarray]]] = ()) -> Enroller:
    """The product's enrolment, its minimum of speech lifted and its closeness refusals forced (an evaluation
    enrols what the set has); nothing is written. ``channels``: telephone chains whose copies of each enrolment
    unit are enrolled too (each chain's first variant; copies made once per unit)."""
    copies: dict[tuple[str, str], np.ndarray] = {}

    def through(name: str, transform: Callable[[np.ndarray, int], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        def copy(speech: np.ndarray) -> np.ndarray:
            key = (name, audio_sha(speech))
            if key not in copies:
                copies[key] = transform(speech, 0)
            return copies[key]
        return copy

    enrolled_channels = {name: through(name, transform) for name, transform in channels}

    def run(name: str, recordings: Sequence[Recording]) -> Voiceprint:
        return enrol(name, recordings, encoder, force=True, min_speech_s=0.0, scoring=scoring,
                     channels=enrolled_channels)
    return run


def in_paths(paths: set[Path]) -> Callable[[Clip], bool]:
    return lambda clip: clip.path in paths


def voice_names(speakers: Iterable[str]) -> dict[str, str]:
    """Speaker ids as distinct voice names (a voice name allows letters, digits, '.', '_', '-')."""
    names: dict[str, str] = {}
    for speaker in speakers:
        base = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in speaker)
        base = base.strip("._-").replace("..", "_")[:56] or "voice"
        name, n = base, 2
        while name in names.values():
            name, n = f"{base}-{n}", n + 1
        names[speaker] = name
    return names


def embed_clips(clips: Iterable[Clip], encoder: OnnxVoiceEncoder, min_speech_s: float,
                telephone: Sequence[tuple[str, Callable[[np.ndarray, int], np.ndarray]]] = (),
                telephone_for: Callable[[Clip], bool] = lambda clip: False,
                keep_audio: Callable[[Clip], bool] = lambda clip: False,
                advance: Callable[[], None] = lambda: None,
                verifier: VerifierScores | None = None) -> dict[Path, Embedded]:
    """Each clip's embedding (``clean``, and per telephone chain for the clips ``telephone_for`` picks), leaving
    out a condition whose speech is under ``min_speech_s``, and with ``verifier`` its score of each condition
    embedded. ``telephone``: (name, transform(audio, index))."""
    from voxwatch.pipeline.sources import load_audio

    rate = encoder.card.features.sample_rate
    out: dict[Path, Embedded] = {}
    for index, clip in enumerate(clips):
        if clip.path in out:
            advance()
            continue
        audio = load_audio(clip.path)
        item = Embedded(clip, len(audio) / SAMPLE_RATE, audio=audio if keep_audio(clip) else None)
        conditions = [(CLEAN, audio)]
        if telephone_for(clip):
            conditions += [(name, transform(audio, index)) for name, transform in telephone]
        for condition, signal in conditions:
            speech = encoder.speech(signal)
            if len(speech) >= max(min_speech_s * rate, 1):
                item.vectors[condition] = encoder.embed_speech(speech).vector
                if verifier is not None:
                    item.verifier[condition] = verifier.score(signal)
        out[clip.path] = item
        advance()
    return out


DUPLICATE = 0.995  # two real clips of a target this close are one recording (pages reuse them); natural
# recordings of one speaker reached 0.992 on the hours set, copies of one recording 0.9997 and above


def drop_duplicates(plan_: Plan, embedded: dict[Path, Embedded]) -> tuple[Plan, int]:
    """The plan with each target's real clips that repeat an earlier one (cosine >= ``DUPLICATE``: the same
    recording on two pages) left out, and how many were: a copy of an enrolled clip is no genuine test."""
    targets, dropped = {}, 0
    for speaker, target in plan_.targets.items():
        kept: list[Clip] = []
        for clip in target.reals:
            vector = embedded[clip.path].vectors.get(CLEAN)
            if vector is not None and any(
                    (other := embedded[k.path].vectors.get(CLEAN)) is not None and float(vector @ other) >= DUPLICATE
                    for k in kept):
                dropped += 1
                continue
            kept.append(clip)
        targets[speaker] = Target(speaker, tuple(kept), target.clones)
    return Plan(targets, plan_.others), dropped


def run_trials(plan_: Plan, embedded: dict[Path, Embedded], ks: Sequence[str], enroller: Enroller,
               scorer: Scorer = match, advance: Callable[[], None] = lambda: None) -> dict[str, list[Trial]]:
    """Every trial of every k: ``{k: [Trial, ...]}``. Clips without an embedding (too little speech) are left out
    of the tests but still enrolled (enrolment trims and embeds them itself)."""
    results: dict[str, list[Trial]] = {}
    for k in ks:
        trials: list[Trial] = []
        sizes = {s: k_for(k, len(t.reals)) for s, t in plan_.targets.items()}
        targets = [t for s, t in plan_.targets.items() if sizes[s]]
        names = voice_names(t.speaker for t in targets)
        enrolled_speakers = {t.speaker for t in targets}
        others = [c for c in plan_.others if c.speaker not in enrolled_speakers]
        others += [c for s, t in plan_.targets.items() if not sizes[s] for c in t.reals]  # not enrolled at this k
        n_folds = max((len(t.reals) for t in targets), default=0)
        for f in range(n_folds):
            voiceprints = []
            for target in targets:
                enrolled, held = folds(len(target.reals), sizes[target.speaker])[f % len(target.reals)]
                recordings = [Recording(target.reals[i].path.name, _audio(embedded[target.reals[i].path]))
                              for i in enrolled]
                voiceprint = enroller(names[target.speaker], recordings)
                voiceprints.append(voiceprint)
                if f >= len(target.reals):
                    continue  # this target's folds are done; its voice still stands among "all enrolled"
                for i in held:
                    item = embedded[target.reals[i].path]
                    for condition, vector in item.vectors.items():
                        m = scorer(vector, voiceprint)
                        trials.append(Trial("genuine", target.speaker, "", condition, item.duration_s,
                                            m.similarity, m.clone_score, m.match, f, m.score,
                                            item.verifier.get(condition)))
                for clip in target.clones:
                    item = embedded[clip.path]
                    if CLEAN in item.vectors:
                        m = scorer(item.vectors[CLEAN], voiceprint)
                        trials.append(Trial("clone", target.speaker, clip.source, CLEAN, item.duration_s,
                                            m.similarity, m.clone_score, m.match, f, m.score,
                                            item.verifier.get(CLEAN)))
            by_name = {names[t.speaker]: t.speaker for t in targets}
            for clip in others:
                item = embedded[clip.path]
                if CLEAN in item.vectors and voiceprints:
                    m = _nearest(item.vectors[CLEAN], voiceprints, scorer)
                    trials.append(Trial("other", by_name[m.name], "", CLEAN, item.duration_s, m.similarity,
                                        m.clone_score, m.match, f, m.score, item.verifier.get(CLEAN)))
            advance()
        results[k] = trials
    return results


def _audio(item: Embedded) -> np.ndarray:
    if item.audio is None:
        raise RuntimeError(f"{item.clip.path}: audio not kept for enrolment")
    return item.audio


def _nearest(vector: np.ndarray, voiceprints: Sequence[Voiceprint], scorer: Scorer) -> VoiceMatch:
    if scorer is match:
        return check(vector, voiceprints)
    return max((scorer(vector, v) for v in voiceprints), key=lambda m: m.similarity)


def n_fold_steps(plan_: Plan, ks: Sequence[str]) -> int:
    """How many folds ``run_trials`` goes through (for a progress bar)."""
    total = 0
    for k in ks:
        lengths = [len(t.reals) for t in plan_.targets.values() if k_for(k, len(t.reals))]
        total += max(lengths, default=0)
    return total


# ---- the whole protocol ---------------------------------------------------------------------------------------------

def telephone_chains(seed: int = 0) -> list[tuple[str, Callable[[np.ndarray, int], np.ndarray]]]:
    """One transform per codec chain this ffmpeg has (``voxwatch.voices.telephone.chain_transforms``: the list
    ``voxwatch voices add`` enrols too)."""
    from voxwatch.voices.telephone import chain_transforms

    return chain_transforms(seed)


def load_set(path: Path | str, systems: str = "auto") -> list[Clip]:
    """Every clip of a set with a manifest.csv that names speakers. ``systems``: which column names a fake's
    system: ``system``, ``source``, or ``auto`` (``system`` where the manifest has one: the data builder's sets,
    whose ``source`` is the page, else ``source``); the clips' ``source`` then holds it."""
    import csv
    from dataclasses import replace

    from voxwatch.training.datasets import load_manifest

    root = Path(path).expanduser()
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise VoiceEvalError(f"{path}: no manifest.csv (eval --voices reads path,label,source,speaker,split: "
                             "a spoof clip's speaker names the speaker it imitates)")
    try:
        clips = load_manifest(root)
        with open(manifest, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            system_of = {root / r["path"]: r.get("system") or "" for r in reader} if "system" in columns else {}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VoiceEvalError(f"{manifest}: cannot read: {exc}") from None
    except KeyError as exc:
        raise DatasetError(f"{manifest}: missing column {exc}") from None
    if "speaker" not in columns or not any(c.speaker for c in clips):
        raise VoiceEvalError(f"{manifest}: no speaker column (or it is empty): eval --voices needs each real "
                             "clip's speaker and, for each spoof clip, the speaker it imitates")
    if systems == "system" and "system" not in columns:
        raise VoiceEvalError(f"{manifest}: no system column (--systems source reads the source column)")
    if systems in ("auto", "system") and system_of:
        clips = [replace(c, source=system_of.get(c.path) or c.source) if c.label else c for c in clips]
    return clips


def require_targets(plan_: Plan, ks: Sequence[str], where: str) -> None:
    if not plan_.targets:
        raise VoiceEvalError(f"{where}: no speaker has both real clips and clones (a spoof clip's speaker must "
                             "name the real speaker it imitates)")
    if not any(k_for(k, len(t.reals)) for k in ks for t in plan_.targets.values()):
        most = max(len(t.reals) for t in plan_.targets.values())
        raise VoiceEvalError(f"{where}: no target speaker has enough real clips for k = {', '.join(ks)} "
                             f"(at most {most} real clip{'s' if most != 1 else ''} per speaker with clones; "
                             "k needs k + 1)")


def set_trials(path: Path | str, ks: Sequence[str], split: str, real_split: str, encoder: CachingEncoder,
               min_speech_s: float = cal.MIN_WATCH_SPEECH_S,
               test_chains: Sequence[tuple[str, Callable[[np.ndarray, int], np.ndarray]]] = (),
               enrol_chains: Sequence[tuple[str, Callable[[np.ndarray, int], np.ndarray]]] = (),
               scoring: str = cal.SCORING, systems: str = "auto", extra_others: Sequence[Clip] = (),
               scores: VerifierScores | None = None, quiet: bool = False) -> tuple[Plan, dict[str, list[Trial]], int]:
    """The whole protocol on one set: (the plan, every trial per k, how many duplicate real clips were dropped),
    with progress bars on stderr (``quiet``: cleared when done). Caches are saved as they fill."""
    from voxwatch.training.pool import counting

    clips = load_set(path, systems)
    plan_ = plan(clips, split, real_split, extra_others)
    require_targets(plan_, ks, f"{path} (split {split})")
    target_reals = {c.path for t in plan_.targets.values() for c in t.reals}
    todo = [c for t in plan_.targets.values() for c in (*t.reals, *t.clones)] + list(plan_.others)
    name = Path(path).name or str(path)
    try:
        with counting(f"{name}: embedding", len(todo), transient=quiet) as advance:
            embedded = embed_clips(todo, encoder, min_speech_s, test_chains, in_paths(target_reals),
                                   in_paths(target_reals), advance, scores)
    finally:
        encoder.cache.save()
        if scores is not None:
            scores.save()
    plan_, duplicates = drop_duplicates(plan_, embedded)
    with counting(f"{name}: enrolling and checking", n_fold_steps(plan_, ks), transient=quiet) as advance:
        trials = run_trials(plan_, embedded, ks, product_enroller(encoder, scoring, enrol_chains), advance=advance)
    encoder.cache.save()
    return plan_, trials, duplicates


MIN_SPEECH_NOTE = (f"enrolment's {cal.MIN_SPEECH_S:.0f} s minimum of speech lifted for the evaluation (a set's "
                   "clips are often shorter); its other refusals forced")
