"""A voiceprint from a person's recordings, refusing what a user typically gets wrong.

Refused, with one line each: too little speech (under ``MIN_SPEECH_S`` after trimming silences), recordings that
disagree (one of them sounds like another person: probably two people), a new voice too close to one already
enrolled (checks could not tell them apart), and comparing with a voiceprint of another speaker encoder. Warned
about: less than ``RECOMMENDED_SPEECH_S`` of speech or fewer than ``RECOMMENDED_RECORDINGS`` recordings.

Enrolment units: each recording's speech, and when there are fewer than ``MIN_UNITS`` recordings, the longest units
split in halves (each at least ``MIN_UNIT_S``) until there are. Each unit is embedded; the centroid is their
normalised mean. The statistics are leave-one-out: each unit against the centroid of the units of *other*
recordings (of the other units when there is one recording), which is what a new genuine clip faces.

Scoring: by default the voiceprint is scored with adaptive S-norm against the bundled speaker cohort
(``calibration.SCORING``; global thresholds chosen on dev, ``voxwatch eval --voices``); ``scoring="cosine"`` gives
the first version's per-voice cosine thresholds from the leave-one-out statistics (kept in ``stats`` either way).

Channels: ``channels`` maps a name to a function that turns a unit's speech into a copy through that channel
(a telephone codec chain: ``voxwatch.voices.telephone.enrolment_channels``); each copy is embedded into the
voiceprint's ``embeddings[name]`` and a check compares with the nearest channel's centroid. ``voxwatch voices
add`` and the web Voices page pass every chain this ffmpeg has unless told not to (``--no-telephone``): with clean
enrolment only, 74% of genuine telephone copies fell below the claim threshold on the hours test (k = 3), with
the telephone channels 2.8% (``lab/notes/voice-encoder.md``). The statistics and thresholds are the clean
channel's either way.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
from voxwatch.voices import calibration as cal
from voxwatch.voices.cohort import Cohort, bundled_cohort
from voxwatch.voices.voiceprint import (
    CLEAN,
    COSINE,
    SCORINGS,
    SNORM,
    EncoderId,
    Thresholds,
    Voiceprint,
    check_name,
    normalized,
    require_encoder,
)


class EnrolmentError(VoxwatchError):
    """Enrolment refused: the message says why in one line."""


@dataclass(frozen=True)
class Recording:
    name: str  # what messages call it (the file's name)
    audio: np.ndarray  # 16 kHz mono float32
    sha256: str = ""


def encoder_id_of(encoder: OnnxVoiceEncoder) -> EncoderId:
    """The ``EncoderId`` of an ``OnnxVoiceEncoder``."""
    return EncoderId(model_id=encoder.model_id, sha256=encoder.sha256, feature_hash=encoder.card.features.digest())


def audio_sha256(audio: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(audio, np.float32).tobytes()).hexdigest()


@dataclass
class _Unit:
    recording: int
    speech: np.ndarray


def _units(speeches: Sequence[np.ndarray], rate: int) -> list[_Unit]:
    units = [_Unit(i, s) for i, s in enumerate(speeches)]
    while len(units) < cal.MIN_UNITS:
        longest = max(units, key=lambda u: len(u.speech))
        half = len(longest.speech) // 2
        if half < cal.MIN_UNIT_S * rate:
            break
        units.remove(longest)
        units += [_Unit(longest.recording, longest.speech[:half]), _Unit(longest.recording, longest.speech[half:])]
    return sorted(units, key=lambda u: u.recording)


def _leave_one_out(vectors: np.ndarray, groups: list[int]) -> np.ndarray:
    """Each vector's cosine to the normalised mean of the vectors of other groups (other vectors if one group)."""
    several = len(set(groups)) > 1
    out = []
    for i, vector in enumerate(vectors):
        others = [j for j in range(len(vectors)) if (groups[j] != groups[i] if several else j != i)]
        out.append(float(vector @ normalized(vectors[others].mean(axis=0))) if others else 1.0)
    return np.array(out)


def thresholds_from(loo: np.ndarray) -> Thresholds:
    """Per-voice cosine thresholds from the leave-one-out similarities (scoring ``cosine``)."""
    spread = max(float(np.std(loo)), cal.SPREAD_FLOOR)
    genuine = max(cal.CLAIM + cal.GENUINE_MIN_GAP, float(np.mean(loo)) - cal.GENUINE_K * spread)
    return Thresholds(claim=cal.CLAIM, genuine=genuine, scale=spread)


def snorm_scoring(cohort: Cohort | None = None) -> tuple[Thresholds, dict[str, object]]:
    """The S-norm scoring's thresholds and the voiceprint's ``scoring`` entry (``cohort``: default the bundled)."""
    cohort = bundled_cohort() if cohort is None else cohort
    return (Thresholds(claim=cal.CLAIM, genuine=cal.SNORM_GENUINE, scale=cal.SNORM_SCALE),
            {"method": SNORM, "top_k": cal.SNORM_TOP_K, "cohort_sha256": cohort.sha256})


def enrol(name: str, recordings: Sequence[Recording], encoder: OnnxVoiceEncoder, existing: Sequence[Voiceprint] = (),
          channels: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None, force: bool = False,
          progress: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None,
          min_speech_s: float = cal.MIN_SPEECH_S, scoring: str = cal.SCORING,
          cohort: Cohort | None = None) -> Voiceprint:
    """The voiceprint of ``name`` from ``recordings``; ``existing`` are the voices already enrolled (checked for
    closeness); ``force`` accepts recordings that disagree and a voice close to another (never too little speech
    or another encoder's voiceprint). ``scoring``: ``snorm`` (against ``cohort``, default the bundled one) or
    ``cosine``."""
    check_name(name)
    if scoring not in SCORINGS:
        raise EnrolmentError(f"unknown scoring {scoring!r} ({', '.join(SCORINGS)})")
    if not recordings:
        raise EnrolmentError("no recordings to enrol")
    say = progress or (lambda line: None)
    warn = warn or (lambda line: None)
    encoder_id = encoder_id_of(encoder)
    for other in existing:
        require_encoder(other, encoder_id, "enrolled voices")
    rate = encoder.card.features.sample_rate
    speeches = [encoder.speech(recording.audio) for recording in recordings]
    total = sum(len(s) for s in speeches) / rate
    plural = "s" if len(recordings) != 1 else ""
    if total < min_speech_s:
        raise EnrolmentError(
            f"{name}: {total:.1f} s of speech in {len(recordings)} recording{plural}; enrolment needs at least "
            f"{cal.MIN_SPEECH_S:.0f} s (>= {cal.RECOMMENDED_SPEECH_S:.0f} s from >= {cal.RECOMMENDED_RECORDINGS} "
            "recordings recommended)")
    empty = [r.name for r, s in zip(recordings, speeches, strict=True) if not len(s)]
    if empty:
        raise EnrolmentError(f"{empty[0]}: no speech found (silence or noise only); leave it out")
    units = _units(speeches, rate)
    if total >= cal.PROGRESS_ABOVE_S:  # a few seconds of work: say what is going on
        say(f"{name}: {total:.1f} s of speech in {len(recordings)} recording{plural} ("
            + ", ".join(f"{r.name} {len(s) / rate:.1f} s" for r, s in zip(recordings, speeches, strict=True))
            + f"); embedding {len(units)} enrolment unit{'s' if len(units) != 1 else ''} ...")
    vectors = np.stack([encoder.embed_speech(u.speech).vector for u in units])
    groups = [u.recording for u in units]

    if len(recordings) > 1:  # recordings that disagree: probably two people
        per_recording = np.stack([normalized(vectors[[g == r for g in groups]].mean(axis=0))
                                  for r in range(len(recordings))])
        agreement = _leave_one_out(per_recording, list(range(len(recordings))))
        worst = int(np.argmin(agreement))
        if agreement[worst] < cal.DISAGREE:
            if len(recordings) == 2:
                what = f"{recordings[0].name} and {recordings[1].name} sound like different people"
            else:
                what = f"{recordings[worst].name} sounds like another person than the other recordings"
            line = (f"{name}: {what} (similarity {agreement[worst]:.2f}; one person's recordings are usually "
                    f"above {cal.DISAGREE:.2f})")
            if not force:
                raise EnrolmentError(f"{line}; enrol each person separately, or give --force")
            warn(f"{line}; enrolled anyway (--force)")

    embeddings = {CLEAN: vectors.astype(np.float32)}
    loo = _leave_one_out(vectors, groups)
    scoring_entry: dict[str, object] = {}
    if scoring == COSINE:
        thresholds = thresholds_from(loo)
    else:
        thresholds, scoring_entry = snorm_scoring(cohort)
    centroid = normalized(vectors.mean(axis=0))

    for other in existing:  # another voice already too close
        if other.name == name:
            continue
        closeness = float(centroid @ other.centroid())
        if closeness >= cal.TOO_CLOSE:
            line = (f"{name}: sounds like the enrolled voice {other.name!r} (similarity {closeness:.2f} >= "
                    f"{cal.TOO_CLOSE:.2f}): the same person? checks could not tell the two apart")
            if not force:
                raise EnrolmentError(f"{line}; remove one, or give --force")
            warn(f"{line}; enrolled anyway (--force)")
        elif closeness >= cal.CLAIM:
            warn(f"{name}: close to the enrolled voice {other.name!r} (similarity {closeness:.2f}); checks may "
                 "confuse them")
    if channels:  # after the refusals: no work for a voice refused
        say(f"{name}: embedding telephone copies of the enrolment units ({', '.join(channels)}) ...")
    for channel, transform in (channels or {}).items():
        embeddings[channel] = np.stack([encoder.embed(transform(u.speech)).vector for u in units])
    if total < cal.RECOMMENDED_SPEECH_S or len(recordings) < cal.RECOMMENDED_RECORDINGS:
        warn(f"{name}: {total:.1f} s of speech in {len(recordings)} recording{plural}; >= "
             f"{cal.RECOMMENDED_SPEECH_S:.0f} s from >= {cal.RECOMMENDED_RECORDINGS} recordings (different days, "
             "rooms, microphones) make a steadier voiceprint")
    stats = {"units": len(units), "speech_s": round(total, 2), "loo_mean": round(float(loo.mean()), 4),
             "loo_std": round(float(loo.std()), 4), "loo_min": round(float(loo.min()), 4)}
    records = tuple({"file": r.name, "sha256": r.sha256 or audio_sha256(r.audio),
                     "speech_s": round(len(s) / rate, 2)} for r, s in zip(recordings, speeches, strict=True))
    return Voiceprint(name=name, encoder=encoder_id, embeddings=embeddings, thresholds=thresholds, stats=stats,
                      recordings=records, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      scoring=scoring_entry)
