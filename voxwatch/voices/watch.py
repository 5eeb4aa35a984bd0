"""Clone watch in the daemon and the library: the enrolled voices in use and the check of an utterance's audio.

``VoiceChecker`` holds the speaker encoder and the voiceprints in force (each checked against the encoder: a
voiceprint of another encoder is refused with one line); ``check_audio`` is what a voice check of an utterance
runs (on the daemon's voice worker, inline in ``Detector``): the speech the encoder hears, its embedding, and the
match against the expected voice or the nearest one. ``replace`` swaps the voiceprints at once (SIGHUP), so a
check in progress finishes with the set it started with.

An utterance under ``MIN_WATCH_SPEECH_S`` of speech (after the encoder's silence trimming) gets no check: the
thresholds come from enrolment units at least that long, and shorter speech falls below a person's own range
(``voxwatch.voices.calibration``). ``check`` (a whole recording: ``Detector.check_voice``) takes
``MIN_CHECK_SPEECH_S``, as ``voxwatch voices check`` does, and with a verifier decides as the router does where
the verifier judged an utterance (``voxwatch.voices.fusion``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from voxwatch.errors import ConfigError, VoxwatchError
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
from voxwatch.voices import calibration as cal
from voxwatch.voices.check import EnrolStats, VoiceMatch, check
from voxwatch.voices.enrol import encoder_id_of
from voxwatch.voices.fusion import with_verifier
from voxwatch.voices.voiceprint import Voiceprint, VoiceStore, require_encoder


class VoiceChecker:
    """The voiceprints clone watch compares speech with, and the encoder that embeds it."""

    def __init__(self, voiceprints: Iterable[Voiceprint] = (), encoder: OnnxVoiceEncoder | None = None,
                 source: str = "voices") -> None:
        self._encoder = encoder
        self.source = source
        self.voiceprints: tuple[Voiceprint, ...] = ()
        self._enrolled: EnrolStats = {}  # the voiceprints' side of S-norm, kept across checks (check.EnrolStats)
        self.replace(voiceprints)

    @classmethod
    def from_dir(cls, directory: Path | str, encoder: OnnxVoiceEncoder | None = None) -> VoiceChecker:
        """The voices of a voices directory (none where it does not exist)."""
        store = VoiceStore(directory)
        return cls(store.load_all(), encoder, str(store.dir))

    @classmethod
    def of(cls, voices: VoiceChecker | Path | str | Sequence[Voiceprint]) -> VoiceChecker:
        """A checker from a directory, a list of voiceprints, or a checker."""
        if isinstance(voices, VoiceChecker):
            return voices
        if isinstance(voices, Path | str):
            return cls.from_dir(voices)
        return cls(voices)

    @property
    def encoder(self) -> OnnxVoiceEncoder:
        if self._encoder is None:
            self._encoder = OnnxVoiceEncoder()
        return self._encoder

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.voiceprints]

    def replace(self, voiceprints: Iterable[Voiceprint]) -> None:
        """Use these voiceprints from the next check on (each must come from this checker's encoder)."""
        voiceprints = tuple(voiceprints)
        if voiceprints:
            current = encoder_id_of(self.encoder)
            for v in voiceprints:
                require_encoder(v, current, self.source)
        self._enrolled = {}  # a check still running with the old voiceprints fills this one: harmless (``is``)
        self.voiceprints = voiceprints

    def reload(self, directory: Path | str) -> None:
        """The voices directory read again (SIGHUP); an error leaves the voiceprints in force as they were."""
        store = VoiceStore(directory)
        self.source = str(store.dir)
        self.replace(store.load_all())

    def require(self, expected: Iterable[tuple[str, str]]) -> None:
        """One line for the first stream that expects a voice that is not enrolled."""
        names = set(self.names)
        for stream, name in expected:
            if name not in names:
                enrolled = ", ".join(sorted(names)) or "none"
                raise ConfigError(f"[streams.{stream}] expect_voice: no voice named {name!r} in {self.source} "
                                  f"(enrolled: {enrolled}; voxwatch voices add {name} FILE...)")

    def check_audio(self, audio: np.ndarray, expect: str | None = None,
                    min_s: float = cal.MIN_WATCH_SPEECH_S) -> VoiceMatch | None:
        """The voice check of 16 kHz audio: None where it has less than ``min_s`` of speech, or there is no
        voiceprint to compare with (none enrolled, or ``expect`` no longer is)."""
        voiceprints = self.voiceprints
        if not voiceprints or (expect is not None and expect not in {v.name for v in voiceprints}):
            return None
        encoder = self.encoder
        speech = encoder.speech(audio)
        if len(speech) < min_s * encoder.card.features.sample_rate:
            return None
        return check(encoder.embed_speech(speech).vector, voiceprints, expect, enrolled=self._enrolled)

    def check(self, audio: np.ndarray, expect: str | None = None, verifier: OnnxVerifier | None = None
              ) -> VoiceMatch:
        """``check_audio``, with one line where no check can be made. With ``verifier`` (and a fusion fitted for
        it, ``voxwatch.voices.fusion``) the match is decided on both scores, the verifier hearing the recording's
        last ``max_s`` seconds as it hears an utterance's in the daemon (a file has no filter gate before it)."""
        if not self.voiceprints:
            raise VoxwatchError(f"no voices enrolled ({self.source}); enrol one: voxwatch voices add NAME FILE...")
        if expect is not None and expect not in self.names:
            raise VoxwatchError(f"no voice named {expect!r} ({self.source})")
        match = self.check_audio(audio, expect, cal.MIN_CHECK_SPEECH_S)
        if match is None:
            seconds = len(self.encoder.speech(audio)) / self.encoder.card.features.sample_rate
            raise VoxwatchError(f"{seconds:.1f} s of speech; a voice check needs at least "
                                f"{cal.MIN_CHECK_SPEECH_S:.0f} s")
        return with_verifier(match, audio, verifier)
