"""The telephone band: which audio gets the verifier's telephone threshold, and that every path applies it.

Real speech after a call's codec looks machine-made to a model trained on wideband speech, so the cascade
judges audio with nothing left above 4 kHz against its own, stricter, verifier threshold
(voxwatch.pipeline.channel, ``CascadeRule.telephone_threshold``). Checked here: the band measure on wideband
audio, band-limited audio and real codec round trips (ffmpeg), the router's choice of threshold per check, the
daemon's threads, ``Detector``, the evaluation traces, the card and the config.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
from helpers import SR, silence
from test_alarms import RULES, stream, with_verifier
from test_cascade import judged, models, run, settings  # noqa: F401  (models: the module's fixture)
from test_router import feed
from voice_helpers import SENTENCES, espeak

from voxwatch.config import Config, config_from_dict
from voxwatch.detector import Detector
from voxwatch.errors import ConfigError
from voxwatch.pipeline.cascade import CascadeRule, VerifierSettings, resolve_rule
from voxwatch.pipeline.channel import TELEPHONE_BAND_DB, high_band_db, in_telephone_band
from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.pipeline.router import CascadeRouter
from voxwatch.pipeline.sources import load_audio
from voxwatch.pipeline.stages.verifier.card import VerifierCard
from voxwatch.training import alarms
from voxwatch.training import telephone as tel

RULE = CascadeRule(gate=0.05, threshold=0.9, telephone_threshold=0.99)


def band_limited(audio: np.ndarray, low: float = 300.0, high: float = 3400.0) -> np.ndarray:
    spectrum = np.fft.rfft(audio)
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, len(audio)).astype(np.float32)


def noise(seconds: float, level: float = 0.1, seed: int = 0) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def test_wideband_audio_is_not_the_telephone_band_and_band_limited_audio_is():
    wide = noise(3.0)
    assert high_band_db(wide) > -3.0 and not in_telephone_band(wide)
    assert in_telephone_band(band_limited(wide)) and high_band_db(band_limited(wide)) < TELEPHONE_BAND_DB - 20
    # a little wideband noise left under telephone speech (as a line adds) does not make it wideband
    assert in_telephone_band(band_limited(wide) + noise(3.0, 0.0005, seed=1))
    assert high_band_db(np.zeros(SR, np.float32)) == 0.0 and high_band_db(np.ones(100, np.float32)) == 0.0


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> np.ndarray:
    return load_audio(espeak(tmp_path_factory.mktemp("band") / "s.wav", SENTENCES[0]))


def test_speech_is_wideband_until_it_is_band_limited(spoken):
    assert not in_telephone_band(spoken) and in_telephone_band(band_limited(spoken))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
@pytest.mark.parametrize("codec", tel.CHAIN_NAMES)
def test_speech_through_each_codec_chain_is_in_the_telephone_band(spoken, codec):
    if codec not in tel.available_chains():
        pytest.skip(f"this ffmpeg cannot encode {codec}")
    assert in_telephone_band(tel.codec_round_trip(tel.band_filter(spoken), codec))


def test_the_router_judges_each_check_against_its_channels_threshold():
    scores = [0.99] * 6 + [0.2]
    wide, _ = feed(CascadeRouter(DecisionSettings(), 0.5, RULE), scores, lambda r: 0.95)
    phone, _ = feed(CascadeRouter(DecisionSettings(), 0.5, RULE), scores, lambda r: (0.95, True))
    assert [j.verdict for j in wide if j.kind == "verdict"] == ["fake"] and "alert" in [j.kind for j in wide]
    verdict = next(j for j in phone if j.kind == "verdict")
    assert verdict.verdict == "real" and verdict.threshold == 0.99 and "alert" not in [j.kind for j in phone]
    assert "telephone band" in verdict.why and "< 0.99" in verdict.why
    over, _ = feed(CascadeRouter(DecisionSettings(), 0.5, RULE), scores, lambda r: (0.995, True))
    alert = next(j for j in over if j.kind == "alert")
    assert alert.threshold == 0.99 and alert.score >= alert.threshold and "telephone band" in alert.why


def test_the_check_furthest_over_its_own_threshold_decides():
    """A wideband check at 0.95 (over 0.9) outranks a telephone-band check at 0.97 (under 0.99): the early
    check of the run raises no alert, the utterance's check makes the verdict fake."""
    answers = iter([(0.97, True), (0.95, False)])
    judged_, requests = feed(CascadeRouter(DecisionSettings(), 0.5, RULE), [0.99] * 3 + [0.2] * 3,
                             lambda r: next(answers))
    verdict = next(j for j in judged_ if j.kind == "verdict")
    assert [r.kind for r in requests] == ["early", "utterance"]
    assert verdict.verdict == "fake" and verdict.threshold == 0.9
    assert verdict.score == pytest.approx(0.95)


def test_without_a_telephone_threshold_both_channels_share_one():
    rule = dataclasses.replace(RULE, telephone_threshold=None)
    assert rule.threshold_for(True) == rule.threshold_for(False) == 0.9
    out, _ = feed(CascadeRouter(DecisionSettings(), 0.5, rule), [0.99] * 6, lambda r: (0.95, True))
    assert next(j for j in out if j.kind == "verdict").verdict == "fake"


def test_the_daemon_and_the_detector_apply_the_telephone_threshold(models):  # noqa: F811
    filter_model, verifier_model = models
    loud = np.concatenate([silence(0.5), noise(4.0, 0.3), silence(1.5)])
    streams = {"wide": loud, "phone": band_limited(loud)}
    pipeline_settings = settings(model=str(verifier_model), telephone_threshold=0.75)
    _, events = run(models, streams, pipeline_settings)
    detector = Detector(config=Config(pipeline=pipeline_settings, model=str(filter_model)))
    for name, audio in streams.items():
        daemon = judged(events, stream=name, kind="verdict")
        library = [u for u in detector.score_audio(audio).utterances]
        assert len(daemon) == len(library) == 1
        for verdict in (daemon[0], library[0]):
            assert verdict.stage == "verifier"
            assert verdict.threshold == (0.75 if name == "phone" else 0.5)
            assert ("telephone band" in verdict.why) == (name == "phone")


def test_evaluation_traces_carry_the_channel_of_each_check():
    trace = stream([[0.99] * 5])
    wide, phone = with_verifier(trace, [0.95]), with_verifier(trace, [0.95], telephone=True)
    assert all(len(check) == 4 for check in phone.checks)
    assert alarms.alerts(wide, RULES, 0.5, RULE) == 1 and alarms.alerts(phone, RULES, 0.5, RULE) == 0


def test_the_card_and_the_config_carry_the_telephone_threshold(tmp_path):
    from helpers import build_verifier_model

    path = build_verifier_model(tmp_path / "v.onnx", threshold=0.8)
    card = VerifierCard.load(path.with_suffix(".json"))
    assert card.telephone_threshold is None and resolve_rule(VerifierSettings(), card).threshold_for(True) == 0.8
    data = json.loads(path.with_suffix(".json").read_text())
    data["telephone_threshold"] = 0.97
    path.with_suffix(".json").write_text(json.dumps(data))
    card = VerifierCard.load(path.with_suffix(".json"))
    assert card.telephone_threshold == 0.97 and card.to_dict()["telephone_threshold"] == 0.97
    assert resolve_rule(VerifierSettings(), card).threshold_for(True) == 0.97
    config = config_from_dict({"verifier": {"telephone_threshold": 0.9},
                               "streams": {"desk": {"verifier": {"telephone_threshold": "model"}}}})
    assert config.pipeline.verifier.telephone_threshold == 0.9
    assert config.pipeline.verifier_for("desk").telephone_threshold is None
    assert resolve_rule(config.pipeline.verifier, card).threshold_for(True) == 0.9
    for bad in (1.5, "high", True):
        with pytest.raises(ConfigError, match="telephone_threshold"):
            config_from_dict({"verifier": {"telephone_threshold": bad}})


def test_a_short_runs_check_needs_the_short_threshold():
    """Runs of one or two windows are checked (segment_windows = 2), but their check must reach short_threshold;
    longer runs and utterance checks keep the plain threshold."""
    rule = CascadeRule(gate=0.99, threshold=0.9, segment_windows=2, short_threshold=0.97)
    assert rule.threshold_for(False, 2) == 0.97 and rule.threshold_for(False, 3) == 0.9
    assert rule.threshold_for(False) == 0.9 and rule.threshold_for(True, 2) == 0.97
    assert dataclasses.replace(rule, telephone_threshold=0.99).threshold_for(True, 2) == 0.99
    short_run = [0.2, 0.99, 0.99, 0.2, 0.2]  # one run of two windows inside real speech, under the gate
    for answer, verdict in ((0.95, "real"), (0.98, "fake")):
        judged_, requests = feed(CascadeRouter(DecisionSettings(), 0.5, rule), short_run, lambda r, a=answer: a)
        final = next(j for j in judged_ if j.kind == "verdict")
        assert [(r.kind, r.windows) for r in requests] == [("segment", 2)]
        assert final.verdict == verdict and final.threshold == 0.97 and final.stage == "verifier"
    unguarded = dataclasses.replace(rule, short_threshold=None)
    judged_, _ = feed(CascadeRouter(DecisionSettings(), 0.5, unguarded), short_run, lambda r: 0.95)
    assert next(j for j in judged_ if j.kind == "verdict").verdict == "fake"
    longer, _ = feed(CascadeRouter(DecisionSettings(), 0.5, rule), [0.2, 0.99, 0.99, 0.99, 0.99, 0.2], lambda r: 0.95)
    assert next(j for j in longer if j.kind == "verdict").threshold == 0.9


def test_the_short_threshold_comes_from_the_card_or_the_config(tmp_path):
    from helpers import build_verifier_model

    path = build_verifier_model(tmp_path / "v.onnx", threshold=0.8)
    data = json.loads(path.with_suffix(".json").read_text())
    data["short_threshold"] = 0.95
    path.with_suffix(".json").write_text(json.dumps(data))
    card = VerifierCard.load(path.with_suffix(".json"))
    assert card.short_threshold == 0.95 and resolve_rule(VerifierSettings(), card).threshold_for(False, 1) == 0.95
    config = config_from_dict({"verifier": {"short_threshold": 0.99, "segment_windows": 1}})
    rule = resolve_rule(config.pipeline.verifier, card)
    assert rule.threshold_for(False, 1) == 0.99 and rule.segment_windows == 1
    with pytest.raises(ConfigError, match="short_threshold"):
        config_from_dict({"verifier": {"short_threshold": -1}})
