"""``Detector`` gives what ``Pipeline`` gives: same windows and scores, same verdicts and alerts, same file score."""

import subprocess
import sys
import threading

import numpy as np
import pytest
from helpers import LOUDNESS_FEATURES, build_mean_model, silence, speech_like, write_wav

from voxwatch import Detector, Judgement
from voxwatch.bench.workload import conversation
from voxwatch.config import Config
from voxwatch.model_loading import load_classifier, load_verifier
from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.pipeline.decision import Judgement as DecisionJudgement
from voxwatch.pipeline.runner import Pipeline
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import write_blocks
from voxwatch.pipeline.types import JudgementEvent, PipelineSettings


class _ArraySource:
    description = "array"

    def __init__(self, audio, block):
        self.audio = audio
        self.block = block

    def run(self, ring, stop, report):  # noqa: ARG002 (Source protocol)
        write_blocks(self.audio, ring, stop, block=self.block, realtime=False)


class _RecordingClassifier:
    """The pipeline's classifier, keeping every window score in order (one stream: stream order)."""

    def __init__(self, inner):
        self.inner = inner
        self.scores: list[float] = []
        self.lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def score(self, batch):
        out = self.inner.score(batch)
        with self.lock:
            self.scores += [float(s) for s in out]
        return out


def _pipeline_run(config: Config, audio: np.ndarray, block: int):
    """The pipeline, reading its ring in exactly the source's blocks: windows emitted during a VAD hangover depend
    on where blocks end (a window is cut as soon as its audio is there), so both sides must see the same blocks."""
    classifier = _RecordingClassifier(load_classifier(config.model or None, config))
    events: list = []
    verifier = load_verifier(config, None, classifier.sha256)  # the bundled cascade, as Detector() runs it
    pipeline = Pipeline(config.pipeline, classifier, events.append, read_block_s=block / SAMPLE_RATE,
                        verifier=verifier)
    pipeline.start()
    pipeline.add_stream("s", _ArraySource(audio, block))
    assert pipeline.finish(timeout=120)
    judged = [(e.judgement.kind, e.judgement.utterance, e.judgement.start, e.judgement.end, e.judgement.score,
               e.judgement.threshold, e.judgement.verdict, e.judgement.windows, e.judgement.early)
              for e in events if isinstance(e, JudgementEvent)]
    # the verifier's verdicts come from its own thread: put each utterance's judgements in order (alert first)
    judged.sort(key=lambda j: (j[1], j[0] != "alert"))
    return classifier.scores, judged


def _detector_run(config: Config, audio: np.ndarray, chunk: int):
    detector = Detector(model=config.model or None, config=config)
    out: list[Judgement] = []
    for i in range(0, len(audio), chunk):
        out += detector.process(audio[i : i + chunk])
    out += detector.flush()
    windows = [j.score for j in out if j.kind == "window"]
    judged = [(j.kind, j.utterance, j.start, j.end, j.score, j.threshold, j.verdict, j.windows, j.early)
              for j in out if j.kind != "window"]
    judged.sort(key=lambda j: (j[1], j[0] != "alert"))
    return windows, judged, detector


def _conversation_with_loud_fakes() -> np.ndarray:
    return np.concatenate([silence(0.7), conversation(20.0, seed=5), silence(1.0), speech_like(7.0, level=0.9),
                           silence(1.2), speech_like(0.4), silence(0.8), speech_like(3.0, level=0.9), silence(1.0)])


@pytest.mark.parametrize("chunk", [320, 480, 8000])
def test_detector_and_pipeline_judge_the_same_audio_identically_with_the_bundled_model(chunk):
    config = Config()
    audio = _conversation_with_loud_fakes()
    pipe_scores, pipe_judged = _pipeline_run(config, audio, chunk)
    det_scores, det_judged, _ = _detector_run(config, audio, chunk)
    assert len(pipe_scores) >= 10 and sum(k == "verdict" for k, *_ in pipe_judged) >= 4
    np.testing.assert_allclose(det_scores, pipe_scores, rtol=0, atol=1e-6)
    assert [j[:4] + j[5:] for j in det_judged] == [j[:4] + j[5:] for j in pipe_judged]
    np.testing.assert_allclose([j[4] for j in det_judged], [j[4] for j in pipe_judged], rtol=0, atol=1e-6)


@pytest.mark.parametrize("threshold", [None, 0.25])
def test_detector_and_pipeline_resolve_the_same_threshold(tmp_path, threshold):
    """One rule (decision.resolve_threshold): the config's threshold, else the model card's, for both APIs."""
    model = build_mean_model(tmp_path / "m.onnx")
    config = Config(pipeline=PipelineSettings(features=LOUDNESS_FEATURES,
                                              decision=DecisionSettings(threshold=threshold)),
                    model=str(model))
    classifier = load_classifier(str(model), config)
    pipeline = Pipeline(config.pipeline, classifier, lambda e: None)
    detector = Detector(model=str(model), config=config)
    expected = classifier.threshold if threshold is None else threshold
    assert detector.threshold == pipeline.threshold == pipeline.threshold_for("any") == expected
    assert detector.score_audio(speech_like(3.0)).threshold == expected


def test_detector_judgements_are_the_decision_stages_own():
    """One Judgement type: a Detector's window judgements and its verdicts are the decision stage's class."""
    out = Detector().score_audio(np.concatenate([silence(0.5), speech_like(4.0), silence(1.0)]))
    assert out.utterances and all(type(j) is DecisionJudgement for j in out.utterances)
    assert Judgement is DecisionJudgement


def test_detector_raises_the_alerts_the_pipeline_raises(tmp_path):
    # a loudness model: loud speech scores "fake", so early alerts, verdict alerts and the refractory rule all act
    model = build_mean_model(tmp_path / "m.onnx", scale=2.0, offset=-6.0)
    config = Config(pipeline=PipelineSettings(features=LOUDNESS_FEATURES,
                                              decision=DecisionSettings(early_windows=2, refractory_s=3.0)),
                    model=str(model))
    audio = _conversation_with_loud_fakes()
    pipe_scores, pipe_judged = _pipeline_run(config, audio, 640)
    det_scores, det_judged, _ = _detector_run(config, audio, 640)
    assert sum(k == "alert" for k, *_ in pipe_judged) >= 2
    assert any(k == "verdict" and v == "real" for k, *_, v, _w, _e in pipe_judged)
    np.testing.assert_allclose(det_scores, pipe_scores, rtol=0, atol=1e-6)
    assert [j[:4] + j[5:] for j in det_judged] == [j[:4] + j[5:] for j in pipe_judged]


def test_int16_chunks_and_other_rates_are_accepted():
    detector = Detector()
    audio = np.concatenate([silence(0.5), speech_like(4.0), silence(1.0)])
    as_float = detector.score_audio(audio)
    pcm = (audio * 32767).astype(np.int16)
    streamed = [j for i in range(0, len(pcm), 800) for j in detector.process(pcm[i : i + 800])] + detector.flush()
    verdicts = [j for j in streamed if j.kind == "verdict"]
    assert len(verdicts) == len(as_float.utterances) == 1
    # int16 rounding adds a noise floor that the quiet high bands of this synthetic speech feel a little
    assert abs(verdicts[0].score - as_float.utterances[0].score) < 5e-3
    at_48k = Detector(sample_rate=48000)
    upsampled = np.repeat(audio, 3)  # not a clean resampling, but speech all the same
    result = [j for i in range(0, len(upsampled), 4800) for j in at_48k.process(upsampled[i : i + 4800])]
    result += at_48k.flush()
    assert [j.kind for j in result].count("verdict") == 1
    with pytest.raises(ValueError, match="mono"):
        detector.process(np.zeros((100, 2), dtype=np.float32))


def test_a_chunk_longer_than_the_front_keeps_is_taken_in_pieces():
    audio = _conversation_with_loud_fakes()
    whole = Detector()
    judged = whole.process(audio) + whole.flush()
    _, in_blocks, _ = _detector_run(Config(), audio, SAMPLE_RATE // 2)
    assert [(j.kind, j.start, j.end, j.verdict) for j in judged if j.kind != "window"] == \
        [(k, start, end, verdict) for k, _u, start, end, _s, _t, verdict, *_ in in_blocks]


def test_score_file_matches_voxwatch_score(tmp_path):
    audio = np.concatenate([silence(0.5), speech_like(3.0, seed=2), silence(1.0), speech_like(2.5, seed=3),
                            silence(1.0)])
    path = write_wav(tmp_path / "two.wav", audio)
    quiet = write_wav(tmp_path / "quiet.wav", silence(3.0))
    result = Detector().score_file(path)
    assert len(result.utterances) == 2 and result.verdict in ("fake", "real") and result.path == str(path)
    assert Detector().score_file(quiet).verdict == "no-speech"
    line = subprocess.run([sys.executable, "-m", "voxwatch", "score", str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()
    verified = f"\tverified={result.verified_utterances}" if Detector().verifier else ""  # the bundled cascade
    assert line == (f"{path}\t{result.verdict}\tscore={result.score:.4f}\tutterances=2\t"
                    f"fake={result.fake_utterances}{verified}")


def test_detector_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from voxwatch import Detector\nimport numpy as np\n"
            "d = Detector(); d.process(np.zeros(16000, np.float32)); d.flush()\n"
            "print('ok', 'torch' in sys.modules and sys.modules['torch'] is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "ok False"


@pytest.mark.parametrize("rate", [0, -16000, 16000.5, True])
def test_a_sample_rate_that_is_not_a_positive_whole_number_is_a_value_error_that_says_what_is_allowed(rate):
    with pytest.raises(ValueError, match=r"sample_rate must be a positive whole number of Hz \(e.g. 16000"):
        Detector(sample_rate=rate)
