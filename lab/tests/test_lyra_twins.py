"""Lyra neural-codec twins: which clips get twins, how rows are written, and the real codec where it is installed."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lab.data.build_data import COLUMNS, ROWS_FILE, merge_manifest, write_rows
from lab.supplements import lyra_twins
from lab.tests.helpers import require_tool
from voxwatch.pipeline.sources import resample

HAS_RUNTIME = any(importlib.util.find_spec(m) is not None for m in ("ai_edge_litert", "tflite_runtime"))


def require_runtime() -> None:
    """Skip without a TFLite runtime, unless CI (VOXWATCH_REQUIRE_ALL_TESTS), which installs lab/requirements.txt."""
    if not HAS_RUNTIME:
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail("no TFLite runtime: pip install -r lab/requirements.txt")
        pytest.skip("no TFLite runtime (pip install -r lab/requirements.txt)")


def halve(audio: np.ndarray, kbps: float) -> np.ndarray:
    """A stand-in codec for the bookkeeping tests: the real one needs Lyra's models (not on PyPI)."""
    return audio * 0.5


def halve_factory():
    return halve


def make_set(root: Path) -> Path:
    """A built set: 4 train speakers x 3 clips (one band-limited), a dev speaker, an evaluation-only clip."""
    rows = []
    rng = np.random.default_rng(0)
    for s in range(4):
        for u in range(3):
            path = f"src/spk{s}/u{u}.flac"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / path, 0.1 * rng.standard_normal(16000).astype(np.float32), 16000)
            rows.append([path, "bonafide", "reads", f"spk{s}", "train", "1.00", "CC0", "real", "train",
                         "ground-truth", "test/reads", "v", "1" if (s, u) == (0, 1) else "0", "16000"])
    rows.append(["src/dev/u0.flac", "bonafide", "reads", "dev-spk", "dev", "1.00", "CC0", "real", "train",
                 "ground-truth", "test/reads", "v", "0", "16000"])
    rows.append(["page/x.flac", "bonafide", "page", "p1", "test", "1.00", "none", "real", "eval-only",
                 "ground-truth", "test/page", "v", "0", "16000"])
    (root / "src").mkdir(exist_ok=True)
    write_rows(root / "src" / ROWS_FILE, rows)
    merge_manifest(root)
    return root


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_bitrates_map_to_lyra_quantizer_counts():
    assert [lyra_twins.quantizers(k) for k in lyra_twins.BITRATES_KBPS] == [16, 30, 46]


def test_plan_twins_every_train_speaker_and_deals_bitrates(tmp_path):
    rows = read_rows(make_set(tmp_path) / "manifest.csv")
    twins = lyra_twins.plan(rows, share=0.0)
    assert sorted(t.row["speaker"] for t in twins) == ["spk0", "spk1", "spk2", "spk3"]  # one each at share 0
    all_twins = lyra_twins.plan(rows, share=1.0)
    assert len(all_twins) == 12  # never dev/test or evaluation-only clips
    assert {t.kbps for t in all_twins} == set(lyra_twins.BITRATES_KBPS)


def test_make_twins_writes_rows_and_merges_the_manifest(tmp_path):
    root = make_set(tmp_path)
    assert lyra_twins.make_twins(root, halve_factory, share=1.0, version="abc") == 12
    rows = read_rows(root / "manifest.csv")
    assert tuple(rows[0]) == COLUMNS
    twins = [r for r in rows if r["repo"] == lyra_twins.REPO]
    assert len(twins) == 12 and len(rows) == 14 + 12
    assert {(r["label"], r["family"], r["split"], r["use"], r["version"]) for r in twins} == \
        {("spoof", "codec", "train", "train", "abc")}
    original = {r["path"]: r for r in rows}
    for twin in twins:
        source_path = twin["path"].removeprefix(f"{lyra_twins.SLUG}/").rsplit("-lyra", 1)[0] + ".flac"
        assert twin["speaker"] == original[source_path]["speaker"]
        assert twin["bandlimited"] == original[source_path]["bandlimited"]
        a, _ = sf.read(root / source_path, dtype="float32")
        b, rate = sf.read(root / twin["path"], dtype="float32")
        assert rate == 16000 and np.allclose(b, a * 0.5, atol=1e-4)


def test_a_rerun_codes_only_new_clips_keeps_bitrates_and_drops_stale_twins(tmp_path):
    root = make_set(tmp_path)
    lyra_twins.make_twins(root, halve_factory, share=1.0)
    before = {r["path"]: (r["system"], (root / r["path"]).stat().st_mtime_ns)
              for r in read_rows(root / "manifest.csv") if r["repo"] == lyra_twins.REPO}
    # the rebuild moved the dev speaker into train and dropped one train clip
    (root / "src/dev").mkdir()
    sf.write(root / "src/dev/u0.flac", np.full(16000, 0.1, np.float32), 16000)
    rows = [r for r in read_rows(root / "src" / ROWS_FILE) if r["path"] != "src/spk3/u2.flac"]
    for r in rows:
        r["split"] = "train" if r["speaker"] == "dev-spk" else r["split"]
    write_rows(root / "src" / ROWS_FILE, [list(r.values()) for r in rows])
    merge_manifest(root)
    coded = []

    def counting_factory():
        return lambda audio, kbps: coded.append(kbps) or audio * 0.5

    assert lyra_twins.make_twins(root, counting_factory, share=1.0) == 12
    after = {r["path"]: (r["system"], (root / r["path"]).stat().st_mtime_ns)
             for r in read_rows(root / "manifest.csv") if r["repo"] == lyra_twins.REPO}
    assert len(coded) == 1 and sorted(set(after) - set(before)) == [p for p in after if "/dev/" in p]
    assert all(after[p] == before[p] for p in after if p in before)  # same bitrate, file untouched
    gone = [p for p in before if "spk3/u2-" in p]
    assert len(gone) == 1 and gone[0] not in after and not (root / gone[0]).exists()


def test_missing_models_are_a_one_line_error(tmp_path, capsys):
    require_runtime()
    root = make_set(tmp_path)
    code = lyra_twins.main(["--data", str(root), "--models", str(tmp_path / "nowhere")])
    assert code == 2
    assert capsys.readouterr().err.startswith("voxwatch: error: ") and not (root / lyra_twins.SLUG).exists()


MODELS = Path(os.environ.get("VOXWATCH_LYRA_MODELS", "/nonexistent"))


def envelope(audio: np.ndarray, frame: int = 320) -> np.ndarray:
    n = len(audio) // frame * frame
    return np.abs(audio[:n]).reshape(-1, frame).mean(axis=1)


@pytest.mark.skipif(not (MODELS / "lyragan.tflite").is_file(),
                    reason="Lyra's models are not on PyPI: set VOXWATCH_LYRA_MODELS to google/lyra's "
                           "lyra/model_coeffs (script/fetch-data-sources makes it)")
def test_real_lyra_round_trip_keeps_length_level_and_waveform(tmp_path):
    require_runtime()
    require_tool("espeak-ng")
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "The quick brown fox jumps over the lazy dog."], check=True)
    audio, rate = sf.read(wav, dtype="float32")
    audio = resample(audio, rate)  # a speech codec: test it on speech, at the builder's 16 kHz
    codec = lyra_twins.Lyra(MODELS)
    for kbps in lyra_twins.BITRATES_KBPS:
        out = codec(audio, kbps)
        assert out.shape == audio.shape and np.isfinite(out).all()
        assert 0.3 < out.std() / audio.std() < 3.0
        assert np.corrcoef(envelope(audio), envelope(out))[0, 1] > 0.8  # the same words at the same times
        assert not np.allclose(out, audio, atol=1e-3)  # a codec, not a copy
