"""Backfilling a card's per-split data summary: written only when the sets are the ones the card counts."""

import json

from lab import card_splits
from tests.helpers import speech_like, write_wav

MANIFEST = ("path,label,source,speaker,split,duration_s,license,family,use\n"
            "a.wav,bonafide,reads,s1,train,1800,CC0,real,train\n"
            "b.wav,spoof,lyra,s1,train,900,Apache-2.0,codec,train\n"
            "c.wav,spoof,yourtts,s2,train,900,CC BY-NC-ND 4.0,flow,eval-only\n"
            "d.wav,bonafide,reads,s3,dev,360,CC0,real,train\n")


COUNTS = {"train": {"clips": 2, "real": 1, "fake": 1, "sources": {"lyra": 1, "reads": 1}},
          "dev": {"clips": 1, "real": 1, "fake": 0, "sources": {"reads": 1}}}


def _set(root):
    root.mkdir()
    for name in "abcd":
        write_wav(root / f"{name}.wav", speech_like(0.3))
    (root / "manifest.csv").write_text(MANIFEST)
    return root


def _card(path, splits):
    path.write_text(json.dumps({"model_id": "m", "training": {"data": "d", "splits": splits}, "metrics": {}}))
    return path


def test_a_card_is_filled_in_when_its_counts_match(tmp_path, capsys):
    data = _set(tmp_path / "set")
    # the verifier's loader drops the evaluation-only row of the train split, so the card counts two train clips
    card = _card(tmp_path / "card.json", COUNTS)
    assert card_splits.main([str(card), "--loader", "verifier", "--data", str(data)]) == 0
    filled = json.loads(card.read_text())
    train = filled["training"]["splits"]["train"]
    assert (train["real_hours"], train["fake_hours"], train["families"]) == (0.5, 0.25, ["codec"])
    assert train["source_licenses"] == {"lyra": ["Apache-2.0"], "reads": ["CC0"]}
    assert filled["training"]["data"] == "d" and filled["model_id"] == "m"  # the rest of the card is kept
    assert "train: 2 clips, real 0.50 h" in capsys.readouterr().out


def test_other_data_write_nothing_and_say_what_differs(tmp_path, capsys):
    data = _set(tmp_path / "set")
    splits = {"train": {"clips": 2, "real": 1, "fake": 1, "sources": {"lyra": 1, "reads": 1}}}
    card = _card(tmp_path / "card.json", splits)
    before = card.read_text()
    # the filter's loader keeps every row: three train clips and a dev split the card does not have
    assert card_splits.main([str(card), "--loader", "filter", "--data", str(data)]) == 1
    assert card.read_text() == before
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: the data differ")
    assert "train sources: yourtts 0 -> 1" in err and "dev clips: None -> 1" in err


def test_check_writes_nothing(tmp_path):
    data = _set(tmp_path / "set")
    card = _card(tmp_path / "card.json", COUNTS)
    before = card.read_text()
    assert card_splits.main([str(card), "--loader", "verifier", "--data", str(data), "--check"]) == 0
    assert card.read_text() == before


def test_train_only_sets_count_their_train_split_alone(tmp_path):
    data = _set(tmp_path / "set")
    twins = tmp_path / "twins"
    twins.mkdir()
    for name in "ef":
        write_wav(twins / f"{name}.wav", speech_like(0.3))
    (twins / "manifest.csv").write_text("path,label,source,speaker,split,duration_s,license\n"
                                        "e.wav,spoof,world,s1,train,600,CC0\n"
                                        "f.wav,spoof,world,s9,dev,600,CC0\n")
    counts = {"train": {"clips": 3, "real": 1, "fake": 2, "sources": {"lyra": 1, "reads": 1, "world": 1}},
              "dev": COUNTS["dev"]}
    card = _card(tmp_path / "card.json", counts)
    args = [str(card), "--loader", "verifier", "--data", str(data), "--train-only", str(twins)]
    assert card_splits.main(args) == 0
    train = json.loads(card.read_text())["training"]["splits"]["train"]
    assert train["fake_hours"] == 0.417 and train["source_licenses"]["world"] == ["CC0"]  # lyra 900 s + world 600 s
    # the twins' dev row is not the verifier's (dev stays one clip), and without --train-only the card does not match
    assert json.loads(card.read_text())["training"]["splits"]["dev"]["clips"] == 1
    assert card_splits.main([str(card), "--loader", "verifier", "--data", str(data), "--check"]) == 1


def test_train_only_is_refused_for_the_filter(tmp_path, capsys):
    data = _set(tmp_path / "set")
    card = _card(tmp_path / "card.json", COUNTS)
    assert card_splits.main([str(card), "--loader", "filter", "--data", str(data), "--train-only", str(data)]) == 1
    assert "--train-only is a verifier option" in capsys.readouterr().err
