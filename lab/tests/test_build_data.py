"""The data builder on a tiny checkout the test makes: manifest, 16 kHz FLAC, splits, band-limiting, --only."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lab.data import build_data
from lab.data.adapters import gemelo_ai_vocos, kan_bayashi_parallelwavegan
from lab.data.build_data import COLUMNS, Settings, build, eval_system_splits, summarize, unit
from lab.data.data_sources import DataSource
from lab.data.source_clip import SourceClip
from lab.tests.helpers import require_tool
from voxwatch.training.datasets import load_dataset

TRAIN = DataSource("test/reads", "main", ("speech",), "CC0", "train", "reads", dev_speakers=(0.0, 0.2),
                   test_speakers=(0.2, 0.4))
EVAL = DataSource("test/demo-page", "gh-pages", ("samples",), "none stated", "eval-only", "demo_page")
SOURCES = (TRAIN, EVAL)
EVAL_SYSTEMS = ("tts-a", "tts-b", "vc-c", "vocoder-d", "vocoder-e", "codec-f")


def broadband(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Voiced-like tone plus white noise: energy all the way up, so band-limiting shows."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 150 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def make_checkouts(root: Path) -> Path:
    """A trainable read-speech source (20 speakers, 44.1 kHz stereo) and an evaluation page (8 kHz real)."""
    reads = root / TRAIN.slug / "speech"
    for s in range(20):
        for u in range(3):
            audio = broadband(1.0, 44100, seed=100 * s + u)
            (reads / f"spk{s:02d}").mkdir(parents=True, exist_ok=True)
            sf.write(reads / f"spk{s:02d}" / f"u{u}.wav", np.stack([audio, audio], axis=1), 44100)
    page = root / EVAL.slug / "samples"
    for system in (*EVAL_SYSTEMS, "gt"):
        (page / system).mkdir(parents=True)
        for u in range(4):
            rate = 8000 if system == "gt" else 22050
            sf.write(page / system / f"p{u}.wav", broadband(1.2, rate, seed=u + len(system)), rate)
    sf.write(page / "gt" / "click.wav", broadband(0.1, 8000, seed=9), 8000)  # too short: skipped
    return root


def reads_clips(root: Path, version: str):
    for path in sorted((root / "speech").rglob("*.wav")):
        yield SourceClip(path, "bonafide", "ground-truth", "real", f"reads-{path.parent.name}", TRAIN.repo, version,
                         TRAIN.license, "train")


def page_clips(root: Path, version: str):
    for path in sorted((root / "samples").rglob("*.wav")):
        system = path.parent.name
        if system == "gt":
            yield SourceClip(path, "bonafide", "ground-truth", "real", f"page-{path.stem}", EVAL.repo, version,
                             EVAL.license, "eval-only")
        else:
            yield SourceClip(path, "spoof", system, "vits-like", f"page-{path.stem}", EVAL.repo, version,
                             EVAL.license, "eval-only")


ADAPTERS = {"reads": reads_clips, "demo_page": page_clips}


def read_manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    checkouts = make_checkouts(tmp_path_factory.mktemp("checkouts"))
    (checkouts / TRAIN.slug / ".source-version").write_text("abc123\n")
    out = tmp_path_factory.mktemp("data") / "hours"
    build(checkouts, out, settings=Settings(bandlimit_share=0.25, seed=0), sources=SOURCES, adapters=ADAPTERS)
    return checkouts, out


def test_manifest_has_corpus_and_provenance_columns(built):
    _, out = built
    rows = read_manifest(out)
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 20 * 3 + 7 * 4  # the 0.1 s click is dropped
    assert {r["version"] for r in rows if r["repo"] == "test/reads"} == {"abc123"}
    assert {r["version"] for r in rows if r["repo"] == "test/demo-page"} == {"unknown"}
    assert {r["use"] for r in rows if r["repo"] == "test/demo-page"} == {"eval-only"}
    assert {r["license"] for r in rows if r["repo"] == "test/reads"} == {"CC0"}
    # voxwatch train reads the set as it is
    clips = load_dataset(out)
    assert len(clips) == len(rows) and all(c.path.is_file() for c in clips)


def test_audio_is_16khz_mono_flac_at_the_original_length(built):
    _, out = built
    for row in read_manifest(out):
        info = sf.info(out / row["path"])
        assert (info.format, info.samplerate, info.channels) == ("FLAC", 16000, 1)
        assert info.duration == pytest.approx(float(row["duration_s"]), abs=0.01)
    rates = {r["source_rate"] for r in read_manifest(out)}
    assert rates == {"44100", "22050", "8000"}


def test_eval_only_systems_split_half_dev_half_test_and_never_train(built):
    _, out = built
    rows = read_manifest(out)
    page = [r for r in rows if r["use"] == "eval-only"]
    assert all(r["split"] in ("dev", "test") for r in page)
    split_of_system: dict[str, set[str]] = {}
    for r in page:
        if r["label"] == "spoof":
            split_of_system.setdefault(r["system"], set()).add(r["split"])
    assert all(len(splits) == 1 for splits in split_of_system.values())  # a system never straddles splits
    halves = [s.pop() for s in split_of_system.values()]
    assert halves.count("dev") == halves.count("test") == len(EVAL_SYSTEMS) // 2


def test_a_system_on_two_pages_lands_in_one_split(tmp_path):
    checkouts = make_checkouts(tmp_path / "checkouts")
    second = DataSource("test/other-page", "main", ("samples",), "none stated", "eval-only", "demo_page")
    for system in ("tts-a", "tts-b", "tts-z", "gt"):  # two systems of the first page and one of its own
        shutil.copytree(checkouts / EVAL.slug / "samples" / ("tts-a" if system == "tts-z" else system),
                        checkouts / second.slug / "samples" / system)
    # dealt page by page, tts-a would land in dev on one page and in test on the other
    first_deal, second_deal = eval_system_splits(EVAL_SYSTEMS), eval_system_splits(("tts-a", "tts-b", "tts-z"))
    assert first_deal["tts-a"] != second_deal["tts-a"]
    build(checkouts, tmp_path / "out", sources=(*SOURCES, second), adapters=ADAPTERS)
    splits: dict[str, set[str]] = {}
    for r in read_manifest(tmp_path / "out"):
        if r["use"] == "eval-only" and r["label"] == "spoof":
            splits.setdefault(r["system"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values()) and len(splits) == len(EVAL_SYSTEMS) + 1
    halves = [next(iter(s)) for s in splits.values()]
    assert abs(halves.count("dev") - halves.count("test")) <= 1


def test_trainable_speakers_stay_in_one_split_and_some_are_held_out(built):
    _, out = built
    splits_of_speaker: dict[str, set[str]] = {}
    for r in read_manifest(out):
        if r["repo"] == "test/reads":
            splits_of_speaker.setdefault(r["speaker"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits_of_speaker.values())
    used = {next(iter(s)) for s in splits_of_speaker.values()}
    assert "train" in used and used & {"dev", "test"}
    for speaker, (split,) in splits_of_speaker.items():  # the catalogue's bands of the speaker hash decide
        u = unit(f"speaker:{speaker}")
        assert split == ("dev" if u < 0.2 else "test" if u < 0.4 else "train"), (speaker, u, split)


def test_a_share_of_both_classes_is_band_limited_and_has_no_energy_above_4khz(built):
    _, out = built
    rows = read_manifest(out)
    limited = [r for r in rows if r["bandlimited"] == "1"]
    assert 0.1 < len(limited) / len(rows) < 0.45
    assert {r["label"] for r in limited} == {"bonafide", "spoof"}

    def high_share(row):
        audio, _ = sf.read(out / row["path"], dtype="float32")
        spectrum = np.abs(np.fft.rfft(audio)) ** 2
        freqs = np.fft.rfftfreq(len(audio), 1 / 16000)
        return spectrum[freqs > 4200].sum() / spectrum.sum()

    wideband = [r for r in rows if r["bandlimited"] == "0" and int(r["source_rate"]) > 16000]
    assert max(high_share(r) for r in limited) < 1e-3
    assert min(high_share(r) for r in wideband) > 0.01


def test_summary_counts_hours_speakers_systems_and_flags_thin_dev(built):
    _, out = built
    rows = read_manifest(out)
    summary = summarize(rows)
    assert sum(s.clips for s in summary.values()) == len(rows)
    assert summary["train"].fake_hours == 0 and summary["train"].real_hours > 0
    assert summary["dev"].systems + summary["test"].systems == len(EVAL_SYSTEMS)
    assert summary["test"].telephone_real_hours > 0  # 8 kHz page recordings count as telephone speech
    found = build_data.problems(rows, summary, min_real_hours=1.0)
    assert any(line.startswith("dev holds") for line in found)


def test_only_rebuilds_one_source_and_merges_the_manifest_again(built, tmp_path):
    checkouts, out = built
    before = read_manifest(out)
    (checkouts / EVAL.slug / "samples" / "tts-a" / "p0.wav").unlink()
    build(checkouts, out, only=[EVAL.slug], sources=SOURCES, adapters=ADAPTERS)
    after = read_manifest(out)
    assert [r for r in after if r["use"] == "train"] == [r for r in before if r["use"] == "train"]
    assert len(after) == len(before) - 1
    assert not (out / EVAL.slug / "samples" / "tts-a" / "p0.flac").exists()


def test_unknown_source_is_one_line_error_exit_2(tmp_path, capsys):
    assert build_data.main(["--checkouts", str(tmp_path), "--out", str(tmp_path / "o"), "--only", "no+such"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("voxwatch: error: unknown source(s) no+such") and "\n" not in err


def test_missing_checkouts_is_one_line_error(tmp_path, capsys):
    assert build_data.main(["--checkouts", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "script/fetch-data-sources" in capsys.readouterr().err


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_vocos_page_adapter_labels_ground_truth_real_and_names_systems(tmp_path):
    root = tmp_path / "gemelo-ai+vocos"
    for name in ("audio/mel/gt/1089_1_2.mp3", "audio/mel/hifigan/1089_1_2.mp3",
                 "audio/encodec/6kbps/encodec/f10_s.mp3", "audio/encodec/6kbps/vocos/f10_s.mp3",
                 "audio/encodec/gt/f10_s.mp3", "audio/bark/vocos(3).mp3", "audio/bark/encodec.mp3"):
        touch(root / name)
    clips = {str(c.audio.relative_to(root)): c for c in gemelo_ai_vocos.clips(root, "v1")}
    assert clips["audio/mel/gt/1089_1_2.mp3"].label == "bonafide"
    assert clips["audio/mel/hifigan/1089_1_2.mp3"].speaker == "libritts-1089"
    assert clips["audio/encodec/6kbps/vocos/f10_s.mp3"].system == "vocos-encodec-6kbps"
    assert clips["audio/encodec/6kbps/encodec/f10_s.mp3"].family == "codec"
    assert clips["audio/bark/vocos(3).mp3"].system == "bark-vocos"
    assert clips["audio/bark/encodec.mp3"].family == "autoregressive"
    assert {c.license for c in clips.values()} == {"MIT"} and {c.use for c in clips.values()} == {"train"}


def test_parallelwavegan_page_adapter_keeps_ljspeech_ground_truth_real(tmp_path):
    root = tmp_path / "kan-bayashi+ParallelWaveGAN"
    for name in ("wav/ljspeech/raw/LJ050-0029.wav", "wav/ljspeech/kan-bayashi_wavegan/LJ050-0029.wav",
                 "wav/jsut/kan-bayashi_wavegan.v1/B1.wav", "wav/ljspeech/kan-bayashi_mb-melgan/LJ050-0029.wav"):
        touch(root / name)
    got = {(c.system, c.label, c.speaker) for c in kan_bayashi_parallelwavegan.clips(root, "v1")}
    assert got == {("ground-truth", "bonafide", "ljspeech"), ("parallel-wavegan", "spoof", "ljspeech"),
                   ("parallel-wavegan", "spoof", "jsut"), ("mb-melgan", "spoof", "ljspeech")}


def test_decode_falls_back_to_ffmpeg_for_what_libsndfile_cannot_read(tmp_path):
    require_tool("ffmpeg", "ffprobe")
    wav, m4a = tmp_path / "tone.wav", tmp_path / "tone.m4a"
    sf.write(wav, broadband(1.0, 44100, seed=1), 44100)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    with pytest.raises(sf.LibsndfileError):
        sf.info(m4a)  # the case the fallback exists for
    audio, rate = build_data.decode(m4a)
    assert rate == 44100 and audio.dtype == np.float32
    assert len(audio) == pytest.approx(16000, abs=2000)  # AAC adds priming samples


def test_a_fake_source_names_its_repository_so_training_sources_never_read_as_evaluation_ones(built):
    """A system name can stand on a trainable page and on an evaluation-only one; ``source`` tells them apart."""
    _, out = built
    rows = read_manifest(out)
    fakes = [r for r in rows if r["label"] == "spoof"]
    assert fakes and all(r["source"] == f"{r['repo'].split('/')[-1]}:{r['system']}" for r in fakes)
    reals = [r for r in rows if r["label"] == "bonafide"]
    assert {r["source"] for r in reals} == {"reads", "demo-page"}
