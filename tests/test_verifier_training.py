"""The verifier's training and runtime share one feature function, and a tiny training run exports a verifier the
runtime loads (torch for the training part; it skips without torch unless VOXWATCH_REQUIRE_ALL_TESTS is set)."""

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
from helpers import silence, speech_like, write_wav
from test_training import require_torch

from voxwatch.pipeline.sources import load_audio
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.stages.verifier import features as runtime_features
from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings, verifier_audio, verifier_features
from voxwatch.pipeline.stages.verifier.session import OnnxVerifier
from voxwatch.training.verifier import data
from voxwatch.training.windows import trim


def _dataset(root, n_train=6, n_dev=3):
    """Real: low, steady voices; fake: high, loud ones (a toy difference the network can learn in a few steps)."""
    rows = []
    for split, n in (("train", n_train), ("dev", n_dev)):
        for i in range(n):
            for label, f0, level in (("bonafide", 110.0, 0.1), ("spoof", 230.0, 0.4)):
                name = f"{label}/{split}{i}.wav"
                (root / label).mkdir(parents=True, exist_ok=True)
                audio = np.concatenate([silence(0.3, seed=i), speech_like(2.5 + 0.3 * i, level, seed=i, f0=f0),
                                        silence(0.4, seed=i)])
                write_wav(root / name, audio)
                rows.append([name, label, "toy", f"{label}{i}", split, "", ""])
    # use=eval-only rows: a system kept for evaluation is never trained on, but dev may choose with it
    write_wav(root / "spoof/held.wav", speech_like(2.0, 0.4, seed=99, f0=230.0))
    rows.append(["spoof/held.wav", "spoof", "held-out", "h", "train", "", "eval-only"])
    write_wav(root / "spoof/dev-held.wav", speech_like(2.0, 0.4, seed=98, f0=230.0))
    rows.append(["spoof/dev-held.wav", "spoof", "dev-system", "h", "dev", "", "eval-only"])
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "source", "speaker", "split", "duration_s", "use"])
        writer.writerows(rows)
    return root


TINY = ["--copies", "1", "--workers", "1", "--channels", "8,8", "--stem", "8", "--bands", "64"]


def train_verifier(root, out, *extra):
    """``voxwatch train --stage verifier`` on ``root``: a tiny network, a few steps (seconds)."""
    from voxwatch.cli import main

    return main(["train", "--stage", "verifier", "--data", str(root), "--out", str(out), *TINY, *extra])


def test_training_computes_the_runtime_features():
    assert data.verifier_features is runtime_features.verifier_features  # one function, imported, not copied


def test_clip_features_are_the_runtime_features_of_the_trimmed_clip(tmp_path):
    path = write_wav(tmp_path / "a.wav", np.concatenate([silence(1.0), speech_like(3.0), silence(1.0)]))
    settings = VerifierFeatureSettings()
    (clean,) = data.clip_features(str(path), settings, copies=1, seed=0)
    expected = verifier_features(trim(load_audio(path)), settings)
    np.testing.assert_allclose(clean.astype(np.float32), expected, rtol=1e-3, atol=1e-3)  # float16 storage
    assert clean.shape[1] == 128 and len(clean) < len(verifier_features(load_audio(path), settings))


def test_features_are_cached_per_folder_so_a_changed_set_recomputes_only_what_changed(tmp_path, monkeypatch):
    root = _dataset(tmp_path / "set", n_train=2, n_dev=1)
    clips = [c for c in data.load_training_clips([str(root)]) if c.split == "train"]
    settings = VerifierFeatureSettings()
    cache = tmp_path / "cache"
    first = data.build(clips, settings, copies=2, workers=1, cache_dir=cache, label="train")
    assert len(first) == 2 * len(clips) and sorted(set(first.clip)) == list(range(len(clips)))
    computed = []
    real_task = data._task
    monkeypatch.setattr(data, "_task", lambda job: computed.append(job[1]) or real_task(job))
    again = data.build(clips, settings, copies=2, workers=1, cache_dir=cache, label="train")
    assert computed == [] and np.array_equal(again.frames, first.frames) and np.array_equal(again.y, first.y)
    # without the fakes' folder, nothing is computed; with a new clip in it, only that folder is
    real_only = [c for c in clips if c.label == 0]  # each real clip at another position than in ``clips``
    subset = data.build(real_only, settings, copies=2, workers=1, cache_dir=cache, label="train")
    assert computed == [] and len(subset) == 2 * len(real_only) and not subset.y.any()
    for i, clip in enumerate(real_only):  # a cached folder's items point at their clips in the new list
        (item, _) = [subset.item(k) for k in np.flatnonzero(subset.clip == i)]
        np.testing.assert_allclose(item.astype(np.float32), data.clip_features(str(clip.path), settings, 1, 0)[0],
                                   atol=1e-3)
    extra = write_wav(root / "spoof/new.wav", speech_like(2.0, 0.4, seed=7, f0=230.0))
    grown = clips + [replace(clips[0], path=extra, label=1, speaker="new")]
    mixed = data.build(grown, settings, copies=2, workers=1, cache_dir=cache, label="train")
    assert sorted(computed) == sorted(str(c.path) for c in grown if c.label == 1)
    for i, clip in enumerate(grown):  # every item's features are its own clip's, whatever the folder order
        (item,) = [mixed.item(k) for k in np.flatnonzero(mixed.clip == i)][:1]
        assert mixed.y[mixed.clip == i].tolist() == [clip.label, clip.label]
        np.testing.assert_allclose(item.astype(np.float32), data.clip_features(str(clip.path), settings, 1, 0)[0],
                                   atol=1e-3)


def test_a_folder_rewritten_in_place_is_computed_again(tmp_path, monkeypatch):
    """Twins of a vocoder trained longer keep their paths: the cache must not hand back the old twins' features."""
    root = _dataset(tmp_path / "set", n_train=2, n_dev=1)
    clips = [c for c in data.load_training_clips([str(root)]) if c.split == "train"]
    settings = VerifierFeatureSettings()
    cache = tmp_path / "cache"
    data.build(clips, settings, copies=1, workers=1, cache_dir=cache, label="train")
    fake = next(c for c in clips if c.label == 1)
    write_wav(fake.path, speech_like(2.0, 0.05, seed=42, f0=150.0))  # same path, other audio
    computed = []
    real_task = data._task
    monkeypatch.setattr(data, "_task", lambda job: computed.append(job[1]) or real_task(job))
    rebuilt = data.build(clips, settings, copies=1, workers=1, cache_dir=cache, label="train")
    assert sorted(computed) == sorted(str(c.path) for c in clips if c.label == 1)  # the fakes' folder only
    i = clips.index(fake)
    np.testing.assert_allclose(rebuilt.item(int(np.flatnonzero(rebuilt.clip == i)[0])).astype(np.float32),
                               data.clip_features(str(fake.path), settings, 1, 0)[0], atol=1e-3)


def test_verifier_audio_keeps_the_last_seconds_and_tiles_short_utterances():
    settings = VerifierFeatureSettings(spectrum=FeatureSettings(kind="linfbank", nfilt=64), max_s=3.0, min_s=2.0)
    long = np.arange(5 * 16000, dtype=np.float32) / 1e5
    np.testing.assert_array_equal(verifier_audio(long, settings), long[-3 * 16000 :])
    short = np.arange(16000, dtype=np.float32) / 1e5
    tiled = verifier_audio(short, settings)
    assert len(tiled) == 2 * 16000 and np.array_equal(tiled[16000:], short)
    assert VerifierFeatureSettings.from_dict(settings.to_dict()) == settings
    assert settings.digest() != VerifierFeatureSettings().digest()


def test_use_column_keeps_evaluation_only_rows_out_of_training_but_in_dev(tmp_path):
    root = _dataset(tmp_path / "toy", n_train=1, n_dev=1)
    clips = data.load_training_clips([str(root)])
    assert not any(c.source == "held-out" for c in clips) and len(clips) == 5
    assert [c.split for c in clips if c.source == "dev-system"] == ["dev"]


def test_a_tiny_training_run_exports_a_verifier_the_runtime_loads(tmp_path):
    require_torch()
    root = _dataset(tmp_path / "toy")
    out = tmp_path / "run"
    assert train_verifier(root, out, "--epochs", "2", "--max-steps", "3", "--ema", "0.9") == 0
    verifier = OnnxVerifier(out / "verifier.onnx")
    card = json.loads((out / "verifier.json").read_text())
    assert card["kind"] == "verifier" and card["features"]["spectrum"]["nfilt"] == 64
    assert 0.0 <= verifier.card.gate <= 1.0 and 0.0 <= verifier.card.threshold <= 1.0
    assert card["metrics"]["parity_max_abs_diff"] <= 1e-4 and card["filter"]["sha256"]
    assert card["training"]["splits"]["train"]["clips"] == 12  # the use=test row is not among them
    scores = [verifier.score(load_audio(root / f"{label}/dev0.wav")) for label in ("bonafide", "spoof")]
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_source_balance_draws_each_class_half_and_small_sources_more_often_per_clip():
    require_torch()
    from voxwatch.training.verifier.train import source_draw

    y = np.array([0] * 100 + [0] * 4 + [0] * 1 + [1] * 50)
    sources = np.array(["digits"] * 100 + ["studio"] * 4 + ["page"] + ["twins"] * 50)
    p = source_draw(y, sources)
    assert p.sum() == pytest.approx(1.0) and p[y == 0].sum() == pytest.approx(0.5)
    totals = {name: p[sources == name].sum() for name in ("digits", "studio", "page")}
    assert totals["digits"] / totals["studio"] == pytest.approx(np.sqrt(100) / np.sqrt(4))
    assert p[sources == "page"][0] > p[sources == "studio"][0] > p[sources == "digits"][0]
    assert source_draw(y, sources, real_weight=3.0)[y == 0].sum() == pytest.approx(0.75)


def test_a_source_balanced_run_trains_and_records_its_balance(tmp_path):
    require_torch()
    root = _dataset(tmp_path / "toy", n_train=3, n_dev=2)
    out = tmp_path / "run"
    assert train_verifier(root, out, "--epochs", "1", "--max-steps", "2", "--balance", "source") == 0
    assert json.loads((out / "verifier.json").read_text())["training"]["train"]["balance"] == "source"


def test_a_spliced_item_keeps_a_part_of_its_own_crop_inside_real_speech_of_another_clip():
    require_torch()
    from voxwatch.training.verifier.train import VerifierTrainSettings, _batch

    rows = [np.full((400, 4), value, np.float16) for value in (1.0, 2.0, 3.0)]  # fake, real, real
    lengths = np.cumsum([0] + [len(r) for r in rows])
    dataset = data.UtteranceSet(np.concatenate(rows), lengths, np.array([1, 0, 0], np.int8), np.arange(3))
    plain = VerifierTrainSettings(crop_frames=100, freq_mask=0, time_mask=0)
    assert set(_batch(dataset, np.array([0]), plain, np.random.default_rng(0)).unique().tolist()) == {1.0}
    spliced = replace(plain, splice_share=1.0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = _batch(dataset, np.array([0, 1]), spliced, rng)[:, 0, :, 0].numpy()
        own = np.flatnonzero(x[0] == 1.0)
        assert 25 <= len(own) <= 75 and np.all(np.diff(own) == 1)  # one span of a quarter to three quarters
        assert set(x[0][x[0] != 1.0].tolist()) <= {2.0, 3.0}  # the rest is real speech, never the fake's own
        assert set(x[1].tolist()) <= {2.0, 3.0}  # a spliced real item is all real


def test_splice_share_is_recorded_and_checked(tmp_path, capsys):
    require_torch()
    root = _dataset(tmp_path / "toy", n_train=2, n_dev=2)
    out = tmp_path / "run"
    assert train_verifier(root, out, "--epochs", "1", "--max-steps", "2", "--splice-share", "0.5") == 0
    assert json.loads((out / "verifier.json").read_text())["training"]["train"]["splice_share"] == 0.5
    assert train_verifier(root, tmp_path / "bad", "--splice-share", "2") == 2
    assert capsys.readouterr().err.endswith("voxwatch: error: --splice-share must be within [0, 1]\n")


@pytest.mark.parametrize(("stage", "option", "message"), [
    ("verifier", ["--freq-stride", "2"], "--freq-stride is an option of --stage filter, not of --stage verifier"),
    ("verifier", ["--no-augment"], "--no-augment is an option of --stage filter, not of --stage verifier"),
    ("filter", ["--bands", "64"], "--bands is an option of --stage verifier, not of --stage filter"),
    ("filter", ["--train-only", "x"], "--train-only is an option of --stage verifier, not of --stage filter"),
])
def test_an_option_of_the_other_stage_is_one_error_line(tmp_path, capsys, stage, option, message):
    from voxwatch.cli import main

    assert main(["train", "--stage", stage, "--data", str(tmp_path), "--out", str(tmp_path / "r"), *option]) == 2
    assert capsys.readouterr().err == f"voxwatch: error: {message}\n"


@pytest.mark.parametrize(("extra", "message"), [
    (["--channels", "8"], "--channels: expected at least two positive widths"),
    (["--gate-pass", "0"], "--gate-pass must be within (0, 1]"),
    (["--bands", "0"], "--bands, --stem, --crop and --threads must be >= 1"),
    (["--epochs", "0"], "--epochs, --copies and --batch-size must be >= 1"),
    (["--filter-model", "missing.onnx"], "missing.onnx: model file not found"),
])
def test_bad_verifier_options_are_one_error_line(tmp_path, capsys, extra, message):
    require_torch()
    root = _dataset(tmp_path / "toy", n_train=1, n_dev=1)
    assert train_verifier(root, tmp_path / "r", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"voxwatch: error: {message}") and err.count("\n") == 1


def test_a_set_without_dev_clips_of_both_classes_is_one_error_line(tmp_path, capsys):
    require_torch()
    root = _dataset(tmp_path / "toy", n_train=1, n_dev=1)
    for label in ("bonafide", "spoof"):
        (root / f"{label}/dev0.wav").unlink()
    rows = [r for r in (root / "manifest.csv").read_text().splitlines() if "/dev" not in r]
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    assert train_verifier(root, tmp_path / "r") == 2
    assert capsys.readouterr().err == "voxwatch: error: split 'dev' needs clips of both classes (has 0 clips)\n"


def test_train_help_explains_both_stages(capsys):
    from voxwatch.cli import main

    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--stage {filter,verifier}" in out and "--stage verifier: the cascade's ResNet" in out
    assert "filter (--stage filter):" in out and "verifier (--stage verifier):" in out
    assert "(default 15 for the filter; 12 for the verifier)" in out
