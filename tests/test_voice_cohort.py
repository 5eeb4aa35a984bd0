"""Adaptive S-norm against the speaker cohort: its maths, the S-norm check of a voiceprint (claim on the cosine,
genuine against clone on the normalised score, the cosine at which it turns genuine), the voiceprint's
``scoring`` entry, enrolment's default, and the bundled cohort and its card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxwatch.voices import calibration as cal
from voxwatch.voices.check import CLONE, GENUINE, NONE, check, match
from voxwatch.voices.cohort import Cohort, bundled_cohort, bundled_cohort_path, load_cohort, save_cohort, snorm
from voxwatch.voices.voiceprint import EncoderId, Thresholds, Voiceprint, VoiceprintError


def unit_rows(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_cohort_stats_are_the_mean_and_std_of_the_top_k_cosines():
    rng = np.random.default_rng(1)
    cohort = Cohort(unit_rows(rng, 50), top_k=7)
    probes = unit_rows(rng, 4)
    means, stds = cohort.stats(probes)
    for probe, mean, std in zip(probes, means, stds, strict=True):
        top = np.sort(cohort.embeddings @ probe)[-7:]
        assert mean == pytest.approx(top.mean(), abs=1e-6) and std == pytest.approx(top.std(), abs=1e-6)
    one = cohort.stats(probes[0])
    assert np.shape(one[0]) == () and float(one[0]) == pytest.approx(float(means[0]), abs=1e-6)
    assert cohort.with_top_k(500).k == 50  # never more than the cohort holds
    flat = Cohort(np.tile(unit_rows(rng, 1), (5, 1)), top_k=3)
    assert float(flat.stats(probes[0])[1]) > 0  # equal cosines: the floor, no division by zero
    with pytest.raises(Exception, match="at least two"):
        Cohort(unit_rows(rng, 1), top_k=3)


def test_snorm_is_the_mean_of_both_sides_z_scores():
    assert snorm(0.8, (0.5, 0.1), (0.6, 0.05)) == pytest.approx(0.5 * (3.0 + 4.0))
    scores = np.array([0.2, 0.8])
    assert np.allclose(snorm(scores, (0.5, 0.1), (0.6, 0.05)), 0.5 * ((scores - 0.5) / 0.1 + (scores - 0.6) / 0.05))


def snorm_voiceprint(rows: np.ndarray, genuine: float = 1.0, claim: float = 0.75) -> Voiceprint:
    return Voiceprint("alice", EncoderId("enc", "ab" * 32, "f" * 16), {"clean": rows},
                      Thresholds(claim=claim, genuine=genuine, scale=1.0),
                      scoring={"method": "snorm", "top_k": 5, "cohort_sha256": "x"})


def test_snorm_check_claims_on_the_cosine_and_decides_on_the_normalised_score():
    rng = np.random.default_rng(2)
    cohort = Cohort(unit_rows(rng, 40), top_k=99, encoder_sha256="ab" * 32)
    rows = unit_rows(rng, 3)
    vp = snorm_voiceprint(rows)
    centroid = vp.centroid()
    for probe in (centroid, unit_rows(rng, 1)[0], (centroid + 0.6 * unit_rows(rng, 1)[0])):
        probe = probe / np.linalg.norm(probe)
        m = match(probe, vp, cohort)
        c5 = cohort.with_top_k(5)  # the voiceprint's top_k wins over the cohort's
        expected = snorm(float(probe @ centroid), c5.stats(centroid), c5.stats(probe))
        assert m.score == pytest.approx(float(expected), abs=1e-5)
        assert m.similarity == pytest.approx(float(probe @ centroid), abs=1e-6)
        assert m.clone_score == pytest.approx(1 / (1 + np.exp(-(1.0 - m.score))), abs=1e-6)
        # the similarity from which this check turns genuine: S-norm is linear in the cosine
        assert float(snorm(m.genuine, c5.stats(centroid), c5.stats(probe))) == pytest.approx(1.0, abs=1e-5)
        if m.similarity < 0.75:
            assert m.match == NONE
        else:
            assert m.match == (GENUINE if m.score >= 1.0 else CLONE)
    assert match(centroid, vp, cohort).match == GENUINE
    strict = snorm_voiceprint(rows, genuine=1e6)
    assert match(centroid, strict, cohort).match == CLONE  # close to the voice, below a genuine score
    assert match(centroid, snorm_voiceprint(rows, claim=1.01), cohort).match == NONE
    other = Cohort(cohort.embeddings, 5, encoder_sha256="cd" * 32)
    with pytest.raises(VoiceprintError, match="another speaker encoder"):
        check(centroid, [vp], cohort=other)


def test_voiceprints_record_their_scoring_and_old_ones_read_as_cosine(tmp_path):
    rows = unit_rows(np.random.default_rng(3), 3)
    vp = snorm_voiceprint(rows)
    back = Voiceprint.from_dict(json.loads(json.dumps(vp.to_dict())), "test")
    assert back.method == "snorm" and back.scoring == vp.scoring
    old = vp.to_dict()
    del old["scoring"]
    assert Voiceprint.from_dict(old, "test").method == "cosine"
    assert "scoring" not in Voiceprint.from_dict(old, "test").to_dict()
    for bad in ({"method": "plda"}, {"method": "snorm"}):
        with pytest.raises(VoiceprintError, match="scoring"):
            Voiceprint.from_dict({**old, "scoring": bad}, "test")


def test_save_and_load_a_cohort(tmp_path):
    rows = unit_rows(np.random.default_rng(4), 6) * 3.0
    save_cohort(tmp_path / "c.npy", rows, {"top_k": 4, "encoder": {"sha256": "ab", "feature_hash": "f"}})
    cohort = load_cohort(tmp_path / "c.npy")
    assert cohort.top_k == 4 and cohort.encoder_sha256 == "ab" and len(cohort.sha256) == 64
    assert np.allclose(np.linalg.norm(cohort.embeddings, axis=1), 1.0, atol=1e-3)  # stored float16, normalised
    assert load_cohort(tmp_path / "c.npy", top_k=2).top_k == 2
    (tmp_path / "c.json").unlink()
    with pytest.raises(Exception, match="card"):
        load_cohort(tmp_path / "c.npy")


def test_the_bundled_cohort_fits_the_bundled_encoder_and_says_where_it_came_from():
    from voxwatch.pipeline.stages.voice.card import VoiceEncoderCard
    from voxwatch.pipeline.stages.voice.session import bundled_voice_encoder_path

    cohort = bundled_cohort()
    encoder = VoiceEncoderCard.load(bundled_voice_encoder_path().with_suffix(".json"))
    assert cohort.encoder_sha256 == encoder.onnx_sha256 and cohort.feature_hash == encoder.features.digest()
    assert len(cohort.embeddings) >= 100 and cohort.embeddings.shape[1] == encoder.embedding_size
    card = json.loads(bundled_cohort_path().with_suffix(".json").read_text())
    assert card["built_by"].startswith("python -m lab.voice_eval cohort")
    assert "train split" in card["from"] and card["entries"] == len(cohort.embeddings)
    assert bundled_cohort(cal.SNORM_TOP_K).k == cal.SNORM_TOP_K


def test_enrolment_scores_with_snorm_by_default_and_cosine_on_request(tmp_path):
    from voice_helpers import SENTENCES, espeak

    from voxwatch.pipeline.sources import load_audio
    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
    from voxwatch.voices.enrol import Recording, enrol

    recordings = [Recording(f"s{i}", load_audio(espeak(tmp_path / f"s{i}.wav", text)))
                  for i, text in enumerate(SENTENCES[:3])]
    encoder = OnnxVoiceEncoder()
    vp = enrol("bob", recordings, encoder)
    assert vp.method == "snorm" and vp.scoring["top_k"] == cal.SNORM_TOP_K
    assert vp.scoring["cohort_sha256"] == bundled_cohort().sha256
    assert (vp.thresholds.genuine, vp.thresholds.scale, vp.thresholds.claim) == (
        cal.SNORM_GENUINE, cal.SNORM_SCALE, cal.CLAIM)
    cosine = enrol("bob", recordings, encoder, scoring="cosine")
    assert cosine.method == "cosine" and cosine.scoring == {} and cal.CLAIM < cosine.thresholds.genuine < 1
    held_out = encoder.embed(load_audio(espeak(tmp_path / "s3.wav", SENTENCES[3]))).vector
    assert check(held_out, [vp]).match == GENUINE and check(held_out, [cosine]).match == GENUINE
