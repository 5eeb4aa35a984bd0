"""``Detector``: voxwatch as a library. Feed audio chunks, get judgements back; synchronous, no threads or sockets.

It runs the daemon's stages with the daemon's settings: a ``StreamFront`` (VAD gate, windower, feature frame cache),
the ``OnnxClassifier`` and the daemon's ``CascadeRouter`` (voxwatch.pipeline.router: verdicts, alerts and, where a
verifier is loaded, what it judges; here the verifier answers inline), so the same audio gives the same window
scores, verdicts and alerts as ``Pipeline`` (tests/test_detector.py compares them). No torch is needed.

::

    det = Detector()                      # bundled model, default config
    for chunk in chunks:                  # int16 or float32, mono, 16 kHz (or Detector(sample_rate=...))
        for j in det.process(chunk):      # window scores, utterance verdicts, alerts
            print(j.kind, j.start_s, j.score)
    det.flush()                           # judge what is pending at the end of the stream
    det.score_file("call.wav")            # what `voxwatch score` prints, as an object

Clone watch: ``Detector(voices=DIR)`` (a voices directory, or a list of ``Voiceprint``) checks each judged
utterance against the enrolled voices inline, with the daemon's router: verdicts carry ``voice`` and a clone of
an enrolled voice raises an alert with ``reason == "clone"``. ``expect_voice`` (or a stream's ``expect_voice`` in
the config) judges all speech against that one voice; ``check_voice(audio_or_path)`` checks a recording whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from voxwatch.config import Config, load_config
from voxwatch.errors import ConfigError
from voxwatch.model_loading import load_model, load_verifier
from voxwatch.pipeline.cascade import CascadeRule, resolve_rule
from voxwatch.pipeline.decision import DecisionSettings, Judgement, Stage, resolve_threshold, verdict_for
from voxwatch.pipeline.front import FrontOutput, FrontWindow, StreamFront
from voxwatch.pipeline.resampler import StreamResampler
from voxwatch.pipeline.router import VOICE_MAX_S, CascadeRouter, RouterOutput, VerifyRequest, VoiceWatch
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import load_audio
from voxwatch.pipeline.stages.filter.features import as_float_audio
from voxwatch.voices.fusion import for_verifier as clone_fusion

if TYPE_CHECKING:
    from voxwatch.voices.check import VoiceMatch
    from voxwatch.voices.voiceprint import Voiceprint
    from voxwatch.voices.watch import VoiceChecker

__all__ = ["Detector", "FileScore", "Judgement"]  # Judgement: the decision stage's, window kind included
FileVerdict = Literal["fake", "real", "uncertain", "no-speech"]
_MAX_BLOCK = SAMPLE_RATE // 2  # longer chunks go to the front in pieces, as the pipeline reads its ring buffers


@dataclass(frozen=True)
class FileScore:
    """What ``voxwatch score`` reports for one file or array, plus the judgements behind it."""

    score: float | None  # the deciding stage's highest utterance score (see ``_file_verdict``); None: no speech
    verdict: FileVerdict
    threshold: float  # the deciding stage's threshold
    model_id: str
    utterances: tuple[Judgement, ...]  # one verdict per scored utterance
    alerts: tuple[Judgement, ...]  # what the daemon's decision rules would have raised
    path: str = ""
    windows: tuple[Judgement, ...] = ()  # every scored window, in stream order (the score over time)
    verifier_id: str = ""  # the cascade's verifier where one judged this file's utterances
    stream: str | None = None  # judged as this stream id (its [streams.<id>] settings), if one was given
    stage: Stage = "filter"  # the stage whose score and threshold these are

    @property
    def fake_utterances(self) -> int:
        return sum(u.verdict == "fake" for u in self.utterances)

    @property
    def verified_utterances(self) -> int:
        """Utterances the cascade's verifier judged (0 without a verifier)."""
        return sum(u.stage == "verifier" for u in self.utterances)

    def record(self, spans: bool = False) -> dict[str, Any]:
        """What ``voxwatch score`` prints for this file (``spans``: the ``--json`` form, with each utterance's
        fields as ``judgement_fields`` gives them: span, score and threshold of the stage that decided, both
        stages' scores, ``why`` where the decision stage gave one). The one serializer of a ``FileScore``, so
        ``score --json`` and the web API (``POST /api/score``) agree."""
        from voxwatch.pipeline.records import judgement_fields

        record: dict[str, Any] = {
            "file": self.path, "score": None if self.score is None else round(self.score, 4),
            "verdict": self.verdict, "utterances": len(self.utterances), "fake_utterances": self.fake_utterances,
            "threshold": round(self.threshold, 4), "stage": self.stage, "model": self.model_id}
        if self.verifier_id:
            record.update(verifier=self.verifier_id, verified_utterances=self.verified_utterances)
        if self.stream is not None:
            record = {"file": self.path, "stream": self.stream, **record}
        if spans:
            record["spans"] = [judgement_fields(u) for u in self.utterances]
        return record


class _Stream:
    """One stream's state: resampler, front, decider and the number of samples fed. ``stream_id`` picks the
    stream's own ``[streams.<id>]`` decision settings, as the pipeline does for a stream of that id."""

    def __init__(self, detector: Detector, sample_rate: int, stream_id: str | None = None) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, Integral) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive whole number of Hz (e.g. 16000, 44100, 48000), "
                             f"not {sample_rate!r}")
        settings = detector.config.pipeline
        self.resampler: StreamResampler | None = (StreamResampler(int(sample_rate)) if sample_rate != SAMPLE_RATE
                                                  else None)
        verifier = detector.verifier
        keep = verifier.card.features.max_s if verifier is not None else 0.0
        voices = detector.voices
        expect = detector.expect_voice if stream_id is None else settings.voice_for(stream_id) or detector.expect_voice
        alerts = settings.clone_alerts == "nearest" or expect is not None
        fusion = clone_fusion(verifier.sha256 if verifier is not None else None)
        self.voice: VoiceWatch | None = (VoiceWatch(expect, alerts=alerts, fusion=fusion)
                                         if voices is not None and voices.voiceprints else None)
        if self.voice is not None:
            keep = max(keep, VOICE_MAX_S)
        self.front: StreamFront = StreamFront(settings.features, settings.vad, settings.window, keep_audio_s=keep)
        self.decision: DecisionSettings = settings.decision if stream_id is None else settings.decision_for(stream_id)
        self.threshold: float = resolve_threshold(self.decision, detector.classifier.threshold)
        verifier_settings = settings.verifier if stream_id is None else settings.verifier_for(stream_id)
        self.rule: CascadeRule | None = resolve_rule(verifier_settings, verifier.card) if verifier is not None else None
        self.router: CascadeRouter = CascadeRouter(self.decision, self.threshold, self.rule, self.voice)
        self.position: int = 0


class Detector:
    """The detector for one stream at a time. ``process`` chunks in order, ``flush`` at the end; ``score_file``
    and ``score_audio`` judge a whole recording on a stream of their own (the streaming state is left alone)."""

    def __init__(self, model: str | Path | None = None, config: Config | str | Path | None = None,
                 sample_rate: int = SAMPLE_RATE, verifier: str | Path | None = None,
                 voices: str | Path | Sequence[Voiceprint] | VoiceChecker | None = None,
                 expect_voice: str | None = None) -> None:
        """``verifier``: a verifier .onnx (with its card), ``"none"`` for the filter alone; default ``[verifier]``.
        ``voices``: clone watch's enrolled voices (a voices directory or a list of ``Voiceprint``; default none);
        ``expect_voice``: judge all speech against that voice (else the nearest enrolled voice; a stream's own
        ``expect_voice`` in the config wins for ``score_audio(stream=...)``)."""
        config = config if isinstance(config, Config) else load_config(None if config is None else str(config))
        self.classifier, self.config = load_model(None if model is None else str(model), config)
        self.verifier = load_verifier(self.config, None if verifier is None else str(verifier), self.classifier.sha256)
        self.voices: VoiceChecker | None = None
        if voices is not None:
            from voxwatch.voices.watch import VoiceChecker

            self.voices = VoiceChecker.of(voices)
            if expect_voice is not None and expect_voice not in self.voices.names:
                raise ConfigError(f"expect_voice: no voice named {expect_voice!r} in {self.voices.source} "
                                  f"(enrolled: {', '.join(self.voices.names) or 'none'})")
            self.voices.require(self.config.pipeline.stream_voices)
        elif expect_voice is not None:
            raise ValueError("expect_voice needs voices (a voices directory or voiceprints)")
        self.expect_voice = expect_voice
        self.threshold = resolve_threshold(self.config.pipeline.decision, self.classifier.threshold)
        self.sample_rate = sample_rate
        self._stream = _Stream(self, sample_rate)

    @property
    def model_id(self) -> str:
        return self.classifier.model_id

    def process(self, chunk: np.ndarray) -> list[Judgement]:
        """Judgements that this chunk completes: window scores as soon as a window is full, verdicts when an
        utterance ends, alerts when the decision rules raise one. ``chunk``: mono int16 or float in [-1, 1].
        Spans count samples from the first sample fed (or from the last ``flush``/``reset``)."""
        return self._feed(self._stream, chunk)

    def flush(self) -> list[Judgement]:
        """End the stream: judge the utterance in progress. The next ``process`` starts a new stream at 0."""
        out = self._judge(self._stream, self._stream.front.flush())
        self.reset()
        return out

    def reset(self) -> None:
        """Forget the current stream without judging what is pending."""
        self._stream = _Stream(self, self.sample_rate)

    def score_audio(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, path: str = "",
                    stream: str | None = None) -> FileScore:
        """A whole recording at once: per-utterance verdicts, alerts, and the file-level score. ``stream``: judge
        it as the stream of that id (its ``[streams.<id>]`` settings, if the config has some)."""
        state = _Stream(self, sample_rate, stream)
        judgements = self._feed(state, audio)
        judgements += self._judge(state, state.front.flush())
        verdicts = tuple(j for j in judgements if j.kind == "verdict")
        alerts = tuple(j for j in judgements if j.kind == "alert")
        score, threshold, verdict, stage = _file_verdict(verdicts, state.threshold)
        windows = tuple(j for j in judgements if j.kind == "window")
        verifier_id = self.verifier.model_id if self.verifier is not None and state.rule is not None else ""
        return FileScore(score, verdict, threshold, self.model_id, verdicts, alerts, path, windows,
                         verifier_id, stream, stage)

    def score_file(self, path: str | Path, stream: str | None = None) -> FileScore:
        """``score_audio`` of an audio file (WAV, FLAC, OGG; any rate and channels). Unreadable files raise
        ``AudioDecodeError``."""
        return self.score_audio(load_audio(path), SAMPLE_RATE, str(path), stream)

    def check_voice(self, audio: np.ndarray | str | Path, expect: str | None = None,
                    sample_rate: int = SAMPLE_RATE) -> VoiceMatch:
        """A whole recording (an array or an audio file) against the enrolled voices: the match with ``expect``'s
        voice, else with the nearest one (fused with the verifier's score where a stream's check would be). Too
        little speech, no voices or an unknown ``expect``: ``VoxwatchError``."""
        if self.voices is None:
            raise ValueError("no voices: Detector(voices=DIR or a list of voiceprints)")
        if isinstance(audio, str | Path):
            samples = load_audio(audio)
        else:
            samples = as_float_audio(audio).astype(np.float32, copy=False)
            if sample_rate != SAMPLE_RATE:
                samples = StreamResampler(int(sample_rate)).process(samples)
        return self.voices.check(samples, expect, self.verifier)

    # ------------------------------------------------------------------ internals
    def _feed(self, stream: _Stream, chunk: np.ndarray) -> list[Judgement]:
        audio = as_float_audio(chunk).astype(np.float32, copy=False)  # int16 PCM or float in [-1, 1]
        if stream.resampler:
            audio = stream.resampler.process(audio)
        out: list[Judgement] = []
        for offset in range(0, len(audio), _MAX_BLOCK):  # the front keeps a few seconds of history, not a file
            block = audio[offset : offset + _MAX_BLOCK]
            start, stream.position = stream.position, stream.position + len(block)
            out += self._judge(stream, stream.front.process(start, block))
        return out

    def _judge(self, stream: _Stream, items: list[FrontOutput]) -> list[Judgement]:
        windows = [item for item in items if isinstance(item, FrontWindow)]
        scores = iter(self.classifier.score(np.stack([w.feats for w in windows])) if windows else [])
        out: list[Judgement] = []
        for item in items:
            if isinstance(item, FrontWindow):
                score = float(next(scores))
                spec = item.spec
                out.append(Judgement("window", spec.utterance, spec.start, spec.end, score, stream.threshold,
                                     verdict_for(score, stream.threshold), 1))
                out += self._answer(stream, stream.router.on_window(spec, score))
            else:
                out += self._answer(stream, stream.router.on_end(item))
        return out

    def _answer(self, stream: _Stream, outputs: list[RouterOutput]) -> list[Judgement]:
        """The router's judgements, with its verifier requests answered inline (the daemon answers them on the
        verifier's thread)."""
        out: list[Judgement] = []
        for output in outputs:
            if not isinstance(output, VerifyRequest):
                out.append(output)
                continue
            audio = stream.front.audio_span(output.start, output.end)
            if output.kind == "voice":
                match = self.voices.check_audio(audio, output.expect) if self.voices is not None and \
                    audio is not None and len(audio) else None
                out += stream.router.on_voice(output, match)
            elif self.verifier is None or audio is None or not len(audio):
                out += stream.router.on_unverified(output)
            else:
                out += stream.router.on_verified(output, *self.verifier.judge(audio))
        return out


def _file_verdict(verdicts: tuple[Judgement, ...], filter_threshold: float) -> tuple[
        float | None, float, FileVerdict, Stage]:
    """A file is as bad as its worst utterance: its score and threshold are the deciding stage's (the verifier's
    where it judged any utterance, else the filter's), its score the highest of that stage's utterance scores, so
    ``score >= threshold`` is exactly ``fake`` outside the uncertain band."""
    if not verdicts:
        return None, filter_threshold, "no-speech", "filter"
    stage: Stage = "verifier" if any(v.stage == "verifier" for v in verdicts) else "filter"
    top = max((v for v in verdicts if v.stage == stage), key=lambda v: v.score)
    labels = {v.verdict for v in verdicts}
    verdict: FileVerdict = "fake" if "fake" in labels else "uncertain" if "uncertain" in labels else "real"
    return top.score, top.threshold, verdict, stage
