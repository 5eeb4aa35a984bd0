"""Views of a built set: leave one family out (without / probe), and the test split by channel."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from lab.data import set_views
from lab.data.build_data import COLUMNS
from voxwatch.training.datasets import load_dataset


def make_set(root: Path) -> Path:
    """Real speech in every split, codec and gan-vocoder fakes in train (3 systems), evaluation-only fakes in test."""
    rows = []

    def add(path, label, split, family, system, use="train"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / path, np.full(8000, 0.1 if label == "bonafide" else 0.2, np.float32), 16000)
        rows.append({**dict.fromkeys(COLUMNS, ""), "path": path, "label": label, "source": system, "speaker": path,
                     "split": split, "duration_s": "0.50", "family": family, "use": use, "system": system})

    for split in ("train", "dev", "test"):
        for i in range(3):
            add(f"real/{split}{i}.flac", "bonafide", split, "real", "ground-truth")
    rows[-1]["source_rate"] = "8000"  # real/test2: a telephone line
    rows[-2]["bandlimited"] = "1"  # real/test1: band-limited by the builder
    for system, family in (("lyra-3.2kbps", "codec"), ("encodec-6kbps", "codec"), ("hifigan", "gan-vocoder")):
        for i in range(5):
            add(f"{system}/t{i}.flac", "spoof", "train", family, system)
    add("page/vits0.flac", "spoof", "test", "vits-like", "vits", use="eval-only")
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return root


def rows_of(folder: Path) -> list[dict[str, str]]:
    with open(folder / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_without_view_drops_only_the_family_training_fakes(tmp_path):
    data = make_set(tmp_path / "set")
    left_out, probed = set_views.write_views(data, "codec", tmp_path / "lofo", per_system=2)
    assert (left_out, probed) == (10, 4)
    without = rows_of(tmp_path / "lofo" / "without")
    assert not [r for r in without if r["family"] == "codec"]
    assert len(without) == len(rows_of(data)) - 10 and any(r["system"] == "hifigan" for r in without)
    clips = load_dataset(tmp_path / "lofo" / "without")  # absolute paths into the set: it loads as it is
    assert len(clips) == len(without) and all(Path(c.path).is_file() for c in clips)


def test_probe_holds_a_seeded_draw_per_system_and_the_real_test_speech(tmp_path):
    data = make_set(tmp_path / "set")
    set_views.write_views(data, "codec", tmp_path / "a", per_system=2, seed=1)
    set_views.write_views(data, "codec", tmp_path / "b", per_system=2, seed=1)
    probe = rows_of(tmp_path / "a" / "probe")
    assert probe == rows_of(tmp_path / "b" / "probe")
    assert {r["split"] for r in probe} == {"test"}
    fakes = [r for r in probe if r["label"] == "spoof"]
    assert sorted(r["system"] for r in fakes) == ["encodec-6kbps"] * 2 + ["lyra-3.2kbps"] * 2
    assert sorted(Path(r["path"]).name for r in probe if r["label"] == "bonafide") == \
        ["test0.flac", "test1.flac", "test2.flac"]  # the test split's real speech, not train or dev
    set_views.write_views(data, "codec", tmp_path / "all", per_system=0)
    assert sum(r["label"] == "spoof" for r in rows_of(tmp_path / "all" / "probe")) == 10


def test_an_unknown_family_is_one_error_line_naming_the_known_ones(tmp_path, capsys):
    data = make_set(tmp_path / "set")
    code = set_views.main(["lofo", "--data", str(data), "--family", "vits-like", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("voxwatch: error:")
    assert "codec (10)" in err and "gan-vocoder (5)" in err and not (tmp_path / "x").exists()


def test_channel_views_split_the_real_test_speech_and_keep_every_fake(tmp_path):
    data = make_set(tmp_path / "set")
    assert set_views.channel_views(data, tmp_path / "ch") == (2, 1)
    telephone, wideband = (rows_of(tmp_path / "ch" / v) for v in ("telephone", "wideband"))
    assert sorted(Path(r["path"]).name for r in telephone if r["label"] == "bonafide") == ["test1.flac", "test2.flac"]
    assert [Path(r["path"]).name for r in wideband if r["label"] == "bonafide"] == ["test0.flac"]
    assert [r["system"] for r in telephone if r["label"] == "spoof"] == ["vits"] == \
        [r["system"] for r in wideband if r["label"] == "spoof"]
    assert set_views.main(["channel", "--data", str(data), "--out", str(tmp_path / "x"), "--split", "nope"]) == 2
