"""Clone watch fused with the verifier (voxwatch.voices.fusion): the rule, the router deciding on it, the whole-
recording check, and the evaluation's fused figures and fit (synthetic numbers, no data set)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxwatch.pipeline.cascade import CascadeRule
from voxwatch.pipeline.decision import DecisionSettings, Judgement
from voxwatch.pipeline.router import CascadeRouter, VerifyRequest, VoiceWatch
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.windower import UtteranceEnd, WindowSpec
from voxwatch.training import voice_figures as vf
from voxwatch.voices import calibration as cal
from voxwatch.voices import fusion
from voxwatch.voices.check import CLONE, GENUINE, NONE, VoiceMatch
from voxwatch.voices.fusion import CloneFusion, for_verifier, fuse

# equal weights on the S-norm evidence and the verifier's logit, the threshold where both are neutral
FUSION = CloneFusion(clone=1.0, verifier=1.0, bias=0.0, threshold=0.0, verifier_sha256="ab" * 32)


def snorm_match(score: float, similarity: float = 0.85, per_cosine: float | None = 10.0) -> VoiceMatch:
    """A claimed S-norm match at this S-norm score, decided as snorm_match decides it."""
    z = (cal.SNORM_GENUINE - score) / cal.SNORM_SCALE
    genuine = None if per_cosine is None else similarity + (cal.SNORM_GENUINE - score) / per_cosine
    return VoiceMatch("ann", similarity, 1 / (1 + math.exp(-z)), GENUINE if score >= cal.SNORM_GENUINE else CLONE,
                      genuine, score, per_cosine)


def test_a_synthetic_sounding_borderline_match_becomes_a_clone():
    borderline = snorm_match(cal.SNORM_GENUINE + 0.2)  # just inside the person's own range
    assert borderline.match == GENUINE
    fused = fuse(borderline, 0.95, FUSION)
    assert fused is not None and fused.match == CLONE and fused.clone_score > 0.5
    assert fused.verifier == 0.95 and fused.record()["fused_verifier_score"] == 0.95
    # where it turns genuine moved up with the verifier's evidence (and the reason reads in similarities)
    assert borderline.genuine is not None and fused.genuine is not None and fused.genuine > borderline.genuine


def test_a_real_sounding_match_stays_genuine_and_a_borderline_clone_turns_genuine():
    genuine = snorm_match(cal.SNORM_GENUINE + 1.0)
    assert fuse(genuine, 0.02, FUSION).match == GENUINE  # type: ignore[union-attr]
    borderline_clone = snorm_match(cal.SNORM_GENUINE - 0.2)
    assert borderline_clone.match == CLONE
    fused = fuse(borderline_clone, 0.05, FUSION)
    assert fused is not None and fused.match == GENUINE and fused.clone_score < 0.5


def test_the_fused_threshold_in_similarities_is_where_the_fused_score_is_one_half():
    m = snorm_match(cal.SNORM_GENUINE + 0.3, similarity=0.85, per_cosine=8.0)
    fused = fuse(m, 0.9, FUSION)
    assert fused is not None and fused.genuine is not None
    at = snorm_match(m.score + (fused.genuine - m.similarity) * 8.0, fused.genuine, 8.0)  # type: ignore[operator]
    assert fuse(at, 0.9, FUSION).clone_score == pytest.approx(0.5)  # type: ignore[union-attr]


def test_without_a_verifier_score_or_a_claim_the_snorm_rule_holds():
    m = snorm_match(cal.SNORM_GENUINE + 0.2)
    assert fuse(m, None, FUSION) is m
    assert fuse(m, 0.99, None) is m
    assert fuse(None, 0.99, FUSION) is None
    other = VoiceMatch("ann", 0.5, 0.9, NONE, 0.9, -1.0, 10.0)
    assert fuse(other, 0.99, FUSION) is other  # another speaker stays another speaker
    cosine = VoiceMatch("ann", 0.85, 0.3, GENUINE, 0.8)  # per-voice cosine thresholds: another scale
    assert fuse(cosine, 0.99, FUSION) is cosine
    assert m.record().keys() == {"name", "similarity", "clone_score", "match"}


def test_the_fusion_is_only_used_with_the_verifier_it_was_fitted_on(monkeypatch):
    assert for_verifier("ab" * 32, FUSION) is FUSION
    assert for_verifier("cd" * 32, FUSION) is None
    assert for_verifier(None, FUSION) is None
    monkeypatch.setattr(cal, "FUSION", False)
    assert fusion.bundled() is None and for_verifier(cal.FUSION_VERIFIER_SHA256) is None
    monkeypatch.setattr(cal, "FUSION", True)
    assert for_verifier(cal.FUSION_VERIFIER_SHA256) == fusion.fitted()


def route(watch: VoiceWatch, verifier_score: float, match: VoiceMatch) -> list[Judgement]:
    """One 7 s utterance over the gate through a cascade router with clone watch: the verifier judges it
    (``verifier_score``), the voice check answers ``match``."""
    router = CascadeRouter(DecisionSettings(), 0.5, CascadeRule(gate=0.05, threshold=0.9), watch)
    out: list[Judgement] = []

    def take(outputs):
        for o in outputs:
            if isinstance(o, VerifyRequest):
                take(router.on_voice(o, match) if o.kind == "voice" else router.on_verified(o, verifier_score))
            else:
                out.append(o)

    for i in range(6):
        take(router.on_window(WindowSpec(0, i * SAMPLE_RATE, (i + 2) * SAMPLE_RATE), 0.3))
    take(router.on_end(UtteranceEnd(0, 0, 7 * SAMPLE_RATE, 6)))
    return out


def test_the_router_decides_a_claimed_voice_on_the_fused_score():
    borderline = snorm_match(cal.SNORM_GENUINE + 0.2)  # genuine on S-norm alone
    fused = route(VoiceWatch(fusion=FUSION), 0.85, borderline)  # under the verifier's own threshold: real
    verdict = next(j for j in fused if j.kind == "verdict")
    assert verdict.verdict == "real" and verdict.verifier_score == 0.85
    assert verdict.voice is not None and verdict.voice.match == CLONE and verdict.voice.verifier == 0.85
    (alert,) = [j for j in fused if j.kind == "alert"]
    assert alert.reason == "clone" and alert.score == pytest.approx(verdict.voice.clone_score)
    alone = route(VoiceWatch(), 0.85, borderline)  # no fusion: the voice's S-norm decides
    verdict = next(j for j in alone if j.kind == "verdict")
    assert verdict.voice is borderline and not any(j.kind == "alert" and j.reason == "clone" for j in alone)


class FakeVerifier:
    """What ``with_verifier`` reads of a verifier: its sha256, how much audio it hears, its judgement."""

    def __init__(self, score: float, sha256: str = cal.FUSION_VERIFIER_SHA256) -> None:
        from types import SimpleNamespace

        self.sha256 = sha256
        self.card = SimpleNamespace(features=SimpleNamespace(max_samples=4))
        self.score = score
        self.heard: list[int] = []

    def judge(self, audio):
        self.heard.append(len(audio))
        return self.score, False


def test_a_whole_recording_check_decides_as_the_router_does(monkeypatch):
    # weights that let the verifier's evidence outweigh a small S-norm margin
    for name, value in (("FUSION", True), ("FUSION_CLONE", 1.0), ("FUSION_VERIFIER", 1.0), ("FUSION_BIAS", 0.0),
                        ("FUSION_THRESHOLD", 0.0)):
        monkeypatch.setattr(cal, name, value)
    borderline, audio = snorm_match(cal.SNORM_GENUINE + 0.2), np.zeros(10, np.float32)
    verifier = FakeVerifier(0.95)
    checked = fusion.with_verifier(borderline, audio, verifier)  # type: ignore[arg-type]
    assert checked.match == CLONE and checked == fuse(borderline, 0.95, fusion.fitted())
    assert verifier.heard == [4]  # the recording's last max_s seconds, as an utterance's
    assert fusion.with_verifier(borderline, audio, None) is borderline
    other = FakeVerifier(0.95, "cd" * 32)  # a verifier the fusion was not fitted on: the voice alone
    assert fusion.with_verifier(borderline, audio, other) is borderline and other.heard == []  # type: ignore[arg-type]
    monkeypatch.setattr(cal, "FUSION", False)
    assert fusion.with_verifier(borderline, audio, verifier) is borderline  # type: ignore[arg-type]


def trial(kind: str, score: float, verifier: float | None, seconds: float = 600.0, system: str = "") -> vf.Trial:
    m = snorm_match(score)
    return vf.Trial(kind, "ann", system, vf.CLEAN, seconds, m.similarity, m.clone_score, m.match, 0, score, verifier)


def test_the_evaluation_reports_fused_figures_beside_snorm_alone():
    # S-norm alone cannot tell these clones from the person (same scores); the verifier can
    genuine = [trial("genuine", cal.SNORM_GENUINE + d, 0.1) for d in (-0.5, 0.5, 1.0, 1.5, 2.0, 2.5)]  # 1 h
    clones = [trial("clone", cal.SNORM_GENUINE + d, 0.95, system="x") for d in (-0.5, 0.5, 1.0, 1.5)]
    others = [trial("other", cal.SNORM_GENUINE - 0.5, None)]  # no verifier score: S-norm alone
    (entry,) = vf.summarize({"3": genuine + clones + others}, 1.0, fusion=FUSION)
    assert entry["overall"]["eer"] > 0.3 and entry["fused"]["overall"]["eer"] == 0.0
    assert entry["fused"]["overall"]["caught_at_budget"] == 1.0
    assert entry["fused"]["systems"]["x"]["caught"] == 1.0 and entry["fused"]["overall"]["genuine_false_alarms"] == 0
    assert entry["others"] == entry["fused"]["others"]
    assert "fused" not in vf.summarize({"3": genuine + clones}, 1.0)[0]


def test_fit_fusion_weights_the_verifier_where_it_separates_and_keeps_the_budget():
    rng = np.random.default_rng(0)
    genuine = [trial("genuine", cal.SNORM_GENUINE + rng.normal(1.0, 1.0), float(rng.uniform(0.01, 0.5)), 60.0)
               for _ in range(120)]  # 2 h
    clones = [trial("clone", cal.SNORM_GENUINE + rng.normal(0.5, 1.0), float(rng.uniform(0.4, 0.99)))
              for _ in range(200)]
    fitted, on = vf.fit_fusion(genuine + clones, 1.0, "ab" * 32)
    assert fitted.clone > 0 and fitted.verifier > 0 and fitted.verifier_sha256 == "ab" * 32
    assert on["genuine_hours_for_threshold"] == 2.0
    assert on["clone_trials"] == sum(t.match != NONE for t in clones)
    alarms = [t for t in vf.fused(genuine, fitted) if t.match == CLONE]
    assert len(alarms) <= 2  # within 1 per hour of the genuine speech
    assert fitted.threshold == round(fitted.threshold, 2)
    with pytest.raises(ValueError, match="claimed clone and genuine"):
        vf.fit_fusion(genuine, 1.0)


def test_the_bundled_verifier_is_loaded_only_where_clone_watch_fuses_with_it(monkeypatch, tmp_path):
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier

    warnings: list[str] = []
    monkeypatch.setattr(cal, "FUSION", False)
    assert fusion.bundled_verifier(warnings.append) is None
    monkeypatch.setattr(cal, "FUSION", True)
    assert isinstance(fusion.bundled_verifier(warnings.append), OnnxVerifier) and warnings == []
    broken = tmp_path / "verifier.onnx"
    broken.write_bytes(b"not a model")
    monkeypatch.setattr("voxwatch.models.default_verifier_path", lambda: broken)
    assert fusion.bundled_verifier(warnings.append) is None
    assert len(warnings) == 1 and warnings[0].endswith("the voice check decides without the verifier")


def test_the_web_voice_check_fuses_with_the_verifier_as_voices_check_does(monkeypatch, tmp_path):
    from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
    from voxwatch.voices.watch import VoiceChecker
    from voxwatch.web.voices import VoiceDesk

    handed: list[object] = []

    class Checker:
        def check(self, audio, expect=None, verifier=None):
            handed.append(verifier)
            return snorm_match(cal.SNORM_GENUINE + 0.5)

    desk = VoiceDesk(tmp_path / "voices", 600.0)
    monkeypatch.setattr(desk.store, "names", lambda: ["ann"])
    monkeypatch.setattr(desk, "_audio", lambda data, filename: ("call.wav", np.zeros(16000, np.float32)))
    monkeypatch.setattr(VoiceChecker, "from_dir", classmethod(lambda cls, directory, encoder=None: Checker()))
    monkeypatch.setattr(desk, "encoder", lambda: None)
    monkeypatch.setattr(cal, "FUSION", True)
    assert desk.check(b"", "call.wav")["voice"]["match"] == GENUINE
    assert isinstance(handed[-1], OnnxVerifier) and desk.verifier() is handed[-1]  # loaded once
    monkeypatch.setattr(cal, "FUSION", False)
    off = VoiceDesk(tmp_path / "voices", 600.0)
    monkeypatch.setattr(off.store, "names", lambda: ["ann"])
    monkeypatch.setattr(off, "_audio", lambda data, filename: ("call.wav", np.zeros(16000, np.float32)))
    monkeypatch.setattr(off, "encoder", lambda: None)
    off.check(b"", "call.wav")
    assert handed[-1] is None
