"""``Detector``: voxwatch as a library. Feed audio chunks, get judgements back; synchronous, no threads or sockets.

It runs the daemon's stages with the daemon's settings: a ``StreamFront`` (VAD gate, windower, feature frame cache),
the ``OnnxClassifier`` and an ``UtteranceDecider``, so the same audio gives the same window scores, verdicts and
alerts as ``Pipeline`` (tests/test_detector.py compares them). No torch is needed.

::

    det = Detector()                      # bundled model, default config
    for chunk in chunks:                  # int16 or float32, mono, 16 kHz (or Detector(sample_rate=...))
        for j in det.process(chunk):      # window scores, utterance verdicts, alerts
            print(j.kind, j.start_s, j.score)
    det.flush()                           # judge what is pending at the end of the stream
    det.score_file("call.wav")            # what `voxwatch score` prints, as an object
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any, Literal

import numpy as np

from voxwatch.config import Config, load_config
from voxwatch.model_loading import load_model
from voxwatch.pipeline.decision import Judgement, UtteranceDecider, aggregate_scores, resolve_threshold, verdict_for
from voxwatch.pipeline.features import as_float_audio
from voxwatch.pipeline.front import FrontWindow, StreamFront
from voxwatch.pipeline.resampler import StreamResampler
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import load_audio

__all__ = ["Detector", "FileScore", "Judgement"]  # Judgement: the decision stage's, window kind included
_MAX_BLOCK = SAMPLE_RATE // 2  # longer chunks go to the front in pieces, as the pipeline reads its ring buffers


@dataclass(frozen=True)
class FileScore:
    """What ``voxwatch score`` reports for one file or array, plus the judgements behind it."""

    score: float | None  # the utterance scores aggregated as ``decision.aggregate`` says; None: no speech
    verdict: Literal["fake", "real", "no-speech"]
    threshold: float
    model_id: str
    utterances: tuple[Judgement, ...]  # one verdict per scored utterance
    alerts: tuple[Judgement, ...]  # what the daemon's decision rules would have raised
    path: str = ""
    windows: tuple[Judgement, ...] = ()  # every scored window, in stream order (the score over time)
    stream: str | None = None  # judged as this stream id (its [streams.<id>] settings), if one was given

    @property
    def fake_utterances(self) -> int:
        return sum(u.verdict == "fake" for u in self.utterances)

    def record(self, spans: bool = False) -> dict[str, Any]:
        """What ``voxwatch score`` prints for this file (``spans``: the ``--json`` form, with each utterance's span
        and score). One place for the layout, so ``score --json`` and the web API (``POST /api/score``) agree."""
        record: dict[str, Any] = {
            "file": self.path, "score": None if self.score is None else round(self.score, 4),
            "verdict": self.verdict, "utterances": len(self.utterances), "fake_utterances": self.fake_utterances,
            "threshold": round(self.threshold, 4), "model": self.model_id}
        if self.stream is not None:
            record = {"file": self.path, "stream": self.stream, **record}
        if spans:
            record["spans"] = [{"utterance": u.utterance, "start_s": round(u.start_s, 3), "end_s": round(u.end_s, 3),
                                "score": round(u.score, 4), "verdict": u.verdict, "windows": u.windows}
                               for u in self.utterances]
        return record


class _Stream:
    """One stream's state: resampler, front, decider and the number of samples fed. ``stream_id`` picks the
    stream's own ``[streams.<id>]`` decision settings, as the pipeline does for a stream of that id."""

    def __init__(self, detector: Detector, sample_rate: int, stream_id: str | None = None) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, Integral) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive whole number of Hz (e.g. 16000, 44100, 48000), "
                             f"not {sample_rate!r}")
        settings = detector.config.pipeline
        self.resampler = StreamResampler(int(sample_rate)) if sample_rate != SAMPLE_RATE else None
        self.front = StreamFront(settings.features, settings.vad, settings.window)
        self.decision = settings.decision if stream_id is None else settings.decision_for(stream_id)
        self.threshold = resolve_threshold(self.decision, detector.classifier.threshold)
        self.decider = UtteranceDecider(self.decision, self.threshold)
        self.position = 0


class Detector:
    """The detector for one stream at a time. ``process`` chunks in order, ``flush`` at the end; ``score_file``
    and ``score_audio`` judge a whole recording on a stream of their own (the streaming state is left alone)."""

    def __init__(self, model: str | Path | None = None, config: Config | str | Path | None = None,
                 sample_rate: int = SAMPLE_RATE) -> None:
        config = config if isinstance(config, Config) else load_config(None if config is None else str(config))
        self.classifier, self.config = load_model(None if model is None else str(model), config)
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
        score = aggregate_scores([v.score for v in verdicts], state.decision.aggregate) if verdicts else None
        verdict = "no-speech" if score is None else verdict_for(score, state.threshold)
        windows = tuple(j for j in judgements if j.kind == "window")
        return FileScore(score, verdict, state.threshold, self.model_id, verdicts, alerts, path, windows, stream)

    def score_file(self, path: str | Path, stream: str | None = None) -> FileScore:
        """``score_audio`` of an audio file (WAV, FLAC, OGG; any rate and channels). Unreadable files raise
        ``AudioDecodeError``."""
        return self.score_audio(load_audio(path), SAMPLE_RATE, str(path), stream)

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

    def _judge(self, stream: _Stream, items: list) -> list[Judgement]:
        windows = [item for item in items if isinstance(item, FrontWindow)]
        scores = iter(self.classifier.score(np.stack([w.feats for w in windows])) if windows else [])
        out: list[Judgement] = []
        for item in items:
            if isinstance(item, FrontWindow):
                score = float(next(scores))
                spec = item.spec
                out.append(Judgement("window", spec.utterance, spec.start, spec.end, score, stream.threshold,
                                     verdict_for(score, stream.threshold), 1))
                out += stream.decider.on_score(spec, score)
            else:
                out += stream.decider.on_end(item)
        return out
