"""The Voices page's work: list, enrol, remove and check voices in a voices directory, as ``voxwatch voices`` does.

Uploads are decoded in memory with ``score``'s checks and wording (``load_audio_bytes``); enrolment and checks run
through ``voxwatch.voices`` (the same refusals: too little speech, recordings that disagree, a voice too close to
another, another encoder's voiceprint; the same telephone copies by default), and voiceprints are written
atomically by ``VoiceStore``. The speaker encoder is loaded on first use (and, where clone watch decides with the
verifier, the bundled verifier: ``voxwatch.voices.fusion``), and one request works at a time (a lock): the work is
CPU-bound.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from voxwatch.errors import VoxwatchError
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import load_audio_bytes
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
from voxwatch.voices.enrol import Recording, enrol
from voxwatch.voices.fusion import bundled_verifier
from voxwatch.voices.telephone import enrolment_channels
from voxwatch.voices.voiceprint import VoiceprintError, VoiceStore, check_name
from voxwatch.voices.watch import VoiceChecker
from voxwatch.web.scoring import UploadTooLong, upload_name

log = logging.getLogger(__name__)


class VoiceNotFound(VoxwatchError):
    """No voiceprint of that name (answered with 404)."""


class VoiceDesk:
    """The voices directory behind the Voices page and ``/api/voices``."""

    def __init__(self, directory: Path, max_duration_s: float) -> None:
        self.store = VoiceStore(directory)
        self.max_duration_s = max_duration_s
        self._encoder: OnnxVoiceEncoder | None = None
        self._verifier: OnnxVerifier | None | bool = False  # False: not looked for yet
        self._lock = threading.Lock()

    @property
    def dir(self) -> Path:
        return self.store.dir

    def encoder(self) -> OnnxVoiceEncoder:
        if self._encoder is None:
            self._encoder = OnnxVoiceEncoder(threads=1)
        return self._encoder

    def verifier(self) -> OnnxVerifier | None:
        """The verifier the voice checks fuse with, as ``voxwatch voices check`` has it (None: they decide alone)."""
        if self._verifier is False:
            self._verifier = bundled_verifier(log.warning)
        return self._verifier if isinstance(self._verifier, OnnxVerifier) else None

    def _audio(self, data: bytes, filename: str | None):
        name = upload_name(filename)
        audio = load_audio_bytes(data, name)
        if len(audio) / SAMPLE_RATE > self.max_duration_s:
            raise UploadTooLong(f"{name}: {len(audio) / SAMPLE_RATE:.1f} s of audio is longer than this server's "
                                f"limit of {self.max_duration_s:g} s (voxwatch web --max-duration-s)")
        return name, audio

    def voices(self) -> list[dict[str, Any]]:
        """Every enrolled voice (a voiceprint that cannot be read: its name and the error)."""
        out: list[dict[str, Any]] = []
        for name in self.store.names():
            try:
                v = self.store.load(name)
            except VoxwatchError as exc:
                out.append({"name": name, "error": str(exc)})
                continue
            out.append({"name": v.name, "speech_s": round(v.speech_s, 2), "recordings": len(v.recordings),
                        "created": v.created, "encoder": v.encoder.model_id, "thresholds": v.thresholds.to_dict(),
                        "scoring": v.method, "channels": list(v.channels)})
        return out

    def add(self, name: str, uploads: list[tuple[bytes, str | None]], replace: bool = False,
            telephone: bool = True) -> dict[str, Any]:
        """Enrol ``name`` from the uploaded recordings (``replace``: an enrolled voice of that name is replaced;
        ``telephone``: their telephone copies too, as ``voxwatch voices add`` does). Warnings come back in
        ``warnings`` (e.g. no ffmpeg: clean speech only)."""
        warnings: list[str] = []
        name = check_name(name)
        with self._lock:
            if self.store.exists(name) and not replace:
                raise VoiceprintError(f"a voice named {name!r} is already enrolled; tick replace to enrol it anew")
            recordings = [Recording(*self._audio(data, filename)) for data, filename in uploads]
            existing = [self.store.load(other) for other in self.store.names() if other != name]
            channels = enrolment_channels(warnings.append) if telephone else {}
            voiceprint = enrol(name, recordings, self.encoder(), existing, channels=channels, warn=warnings.append)
            self.store.save(voiceprint)
        return {"name": voiceprint.name, "speech_s": round(voiceprint.speech_s, 2),
                "recordings": len(recordings), "thresholds": voiceprint.thresholds.to_dict(),
                "scoring": voiceprint.method, "channels": list(voiceprint.channels), "warnings": warnings}

    def remove(self, name: str) -> dict[str, Any]:
        with self._lock:
            if not self.store.exists(check_name(name)):
                raise VoiceNotFound(f"no voice named {name!r} is enrolled")
            self.store.remove(name)
        return {"removed": name}

    def check(self, data: bytes, filename: str | None, expect: str | None = None) -> dict[str, Any]:
        """``voxwatch voices check --json``'s line for one upload: the nearest voice (or ``expect``'s) and the
        match (genuine, clone or none)."""
        name, audio = self._audio(data, filename)
        with self._lock:
            if expect and not self.store.exists(check_name(expect)):
                raise VoiceNotFound(f"no voice named {expect!r} is enrolled")
            if not self.store.names():
                raise VoiceNotFound("no voices are enrolled yet: enrol one first")
            checker = VoiceChecker.from_dir(self.dir, self.encoder())
            try:
                result = checker.check(audio, expect or None, self.verifier())
            except VoxwatchError as exc:
                raise VoxwatchError(f"{name}: {exc}") from None
        return {"file": name, "voice": result.record()}
