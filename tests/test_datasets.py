"""Dataset adapters on tiny trees the tests write themselves (short synthetic audio, no corpus needed)."""

from pathlib import Path

import pytest
from helpers import speech_like, write_wav

from voxwatch.training.datasets import DatasetError, detect_format, load_dataset, select, summarize


def _audio(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".flac":
        import soundfile as sf

        sf.write(str(path), speech_like(0.3, seed=seed), 16000, format="FLAC")
        return path
    return write_wav(path, speech_like(0.3, seed=seed))


def test_manifest_layout(tmp_path):
    _audio(tmp_path / "bonafide" / "a.wav")
    _audio(tmp_path / "spoof" / "b.wav")
    (tmp_path / "manifest.csv").write_text(
        "path,label,source,speaker,split,duration_s,license\n"
        "bonafide/a.wav,bonafide,libri,s1,train,0.3,x\n"
        "spoof/b.wav,spoof,espeak-ng,v1,test,0.3,x\n")
    clips = load_dataset(tmp_path)
    assert detect_format(tmp_path) == "manifest"
    assert [(c.path.name, c.label, c.source, c.speaker, c.split) for c in clips] == [
        ("a.wav", 0, "libri", "s1", "train"), ("b.wav", 1, "espeak-ng", "v1", "test")]
    assert summarize(clips)["test"] == {"clips": 1, "real": 0, "fake": 1, "sources": {"espeak-ng": 1},
                                        "real_hours": 0.0, "fake_hours": 0.0, "families": [],
                                        "licenses": {"x": 1}, "source_licenses": {"espeak-ng": ["x"]}}


def test_summary_has_hours_and_families_from_the_manifest(tmp_path):
    for name in ("a", "b", "c"):
        _audio(tmp_path / f"{name}.wav")
    (tmp_path / "manifest.csv").write_text(
        "path,label,source,speaker,split,duration_s,license,family\n"
        "a.wav,bonafide,reads,s1,train,1800,CC0,real\n"
        "b.wav,spoof,lyra-6kbps,s1,train,900,Apache-2.0,codec\n"
        "c.wav,spoof,hifigan,s2,train,900,,gan-vocoder\n")
    train = summarize(load_dataset(tmp_path))["train"]
    assert (train["real_hours"], train["fake_hours"]) == (0.5, 0.5)
    assert train["families"] == ["codec", "gan-vocoder"]
    assert train["licenses"] == {"Apache-2.0": 1, "CC0": 1, "not stated": 1}  # the model card records them
    assert train["source_licenses"] == {"hifigan": ["not stated"], "lyra-6kbps": ["Apache-2.0"],
                                         "reads": ["CC0"]}


def test_manifest_bad_label_and_split_are_one_line_errors(tmp_path):
    (tmp_path / "manifest.csv").write_text("path,label,split\na.wav,maybe,train\n")
    with pytest.raises(DatasetError, match="manifest.csv:2: unknown label 'maybe'"):
        load_dataset(tmp_path)
    (tmp_path / "manifest.csv").write_text("path,label,split\na.wav,spoof,holdout\n")
    with pytest.raises(DatasetError, match="unknown split"):
        load_dataset(tmp_path)


def test_folder_layout_with_split_subfolders(tmp_path):
    for split in ("training", "validation", "testing"):
        _audio(tmp_path / split / "real" / f"r-{split}.wav")
        _audio(tmp_path / split / "fake" / f"f-{split}.wav")
    clips = load_dataset(tmp_path, "auto")
    assert detect_format(tmp_path) == "folder"
    assert len(clips) == 6
    by_name = {c.path.name: (c.label, c.split) for c in clips}
    assert by_name["r-training.wav"] == (0, "train")
    assert by_name["f-validation.wav"] == (1, "dev")
    assert by_name["f-testing.wav"] == (1, "test")


def test_folder_layout_split_below_class_and_flat(tmp_path):
    _audio(tmp_path / "nested" / "real" / "training" / "a.wav")
    _audio(tmp_path / "nested" / "fake" / "testing" / "b.wav")
    clips = load_dataset(tmp_path / "nested")
    assert {(c.path.name, c.label, c.split) for c in clips} == {("a.wav", 0, "train"), ("b.wav", 1, "test")}
    # flat real/ + fake/: no splits given, so dev/test come from stable file hashes (80/10/10)
    for i in range(30):
        _audio(tmp_path / "flat" / ("real" if i % 2 else "fake") / f"{i}.wav", seed=i)
    flat = load_dataset(tmp_path / "flat")
    assert len(flat) == 30 and {c.split for c in flat} <= {"train", "dev", "test"}
    assert len(select(flat, "train")) > 15
    assert [c.split for c in load_dataset(tmp_path / "flat")] == [c.split for c in flat]  # deterministic


def test_asvspoof_layout(tmp_path):
    root = tmp_path / "LA"
    proto = root / "ASVspoof2019_LA_cm_protocols"
    proto.mkdir(parents=True)
    (proto / "ASVspoof2019.LA.cm.train.trn.txt").write_text(
        "LA_0079 LA_T_1138215 - - bonafide\nLA_0079 LA_T_1271820 - A01 spoof\n")
    (proto / "ASVspoof2019.LA.cm.eval.trl.txt").write_text("LA_0039 LA_E_2834763 - A11 spoof\n")
    _audio(root / "ASVspoof2019_LA_train" / "flac" / "LA_T_1138215.flac")
    _audio(root / "ASVspoof2019_LA_train" / "flac" / "LA_T_1271820.flac", seed=1)
    _audio(root / "ASVspoof2019_LA_eval" / "flac" / "LA_E_2834763.flac", seed=2)
    clips = load_dataset(root)
    assert detect_format(root) == "asvspoof"
    assert sorted((c.path.stem, c.label, c.source, c.speaker, c.split) for c in clips) == [
        ("LA_E_2834763", 1, "A11", "LA_0039", "test"),
        ("LA_T_1138215", 0, "bonafide", "LA_0079", "train"),
        ("LA_T_1271820", 1, "A01", "LA_0079", "train"),
    ]


def test_asvspoof_missing_audio_names_the_file(tmp_path):
    (tmp_path / "x.cm.dev.trl.txt").write_text("LA_0001 LA_D_1 - A01 spoof\n")
    with pytest.raises(DatasetError, match="LA_D_1.flac not found"):
        load_dataset(tmp_path, "asvspoof")


def test_in_the_wild_layout_splits_by_speaker(tmp_path):
    rows = ["file,speaker,label"]
    for i in range(40):
        name = f"{i}.wav"
        _audio(tmp_path / name, seed=i)
        rows.append(f"{name},speaker{i % 8},{'spoof' if i % 2 else 'bona-fide'}")
    (tmp_path / "meta.csv").write_text("\n".join(rows) + "\n")
    clips = load_dataset(tmp_path)
    assert detect_format(tmp_path) == "itw"
    assert sum(c.label for c in clips) == 20
    split_of = {}
    for c in clips:
        assert split_of.setdefault(c.speaker, c.split) == c.split  # a speaker never crosses splits


def test_unknown_layout_and_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "junk").mkdir()
    with pytest.raises(DatasetError, match="unknown dataset layout"):
        load_dataset(tmp_path / "junk")
    with pytest.raises(DatasetError, match="not a manifest dataset"):
        load_dataset(tmp_path / "junk", "manifest")


def test_manifest_split_column_is_kept_even_when_all_train(tmp_path):
    """A training-only supplement (every row ``train``) stays train; a manifest without splits is hashed."""
    rows = "".join(f"bonafide/{i}.wav,bonafide,libri,s{i},train\n" for i in range(40))
    for i in range(40):
        _audio(tmp_path / "bonafide" / f"{i}.wav", seed=i)
    (tmp_path / "manifest.csv").write_text("path,label,source,speaker,split\n" + rows)
    assert {c.split for c in load_dataset(tmp_path)} == {"train"}
    (tmp_path / "manifest.csv").write_text("path,label,source,speaker\n" + rows.replace(",train\n", "\n"))
    assert {c.split for c in load_dataset(tmp_path)} == {"train", "dev", "test"}
