"""Real training speech from Fish Fillets NG's dialogue packages (lab.supplements.fillets_speech), on a
generated tree laid out like the extracted Debian packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lab.supplements import fillets_speech as fs
from tests.helpers import speech_like
from voxwatch.training.datasets import load_dataset


def line(root: Path, level: str, language: str, name: str, seconds: float, rate: int = 22050) -> Path:
    path = root / "usr/share/games/fillets-ng/sound" / level / language / name
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = speech_like(seconds, seed=len(name))
    audio = np.interp(np.arange(int(seconds * rate)) * 16000 / rate, np.arange(len(audio)), audio)
    sf.write(path, audio.astype(np.float32), rate, format="OGG", subtype="VORBIS")
    return path


@pytest.fixture()
def tree(tmp_path) -> Path:
    root = tmp_path / "extracted"
    for level in ("airplane", "barrel"):
        line(root, level, "cs", f"{level[:3]}-m-one.ogg", 2.0)
        line(root, level, "cs", f"{level[:3]}-v-two.ogg", 1.5)
        line(root, level, "nl", f"{level[:3]}-m-one.ogg", 2.0)
    line(root, "airplane", "cs", "air-m-hm.ogg", 0.5)  # too short
    line(root, "airplane", "cs", "air-pap-robot.ogg", 2.0)  # not a fish: may carry voice effects
    line(root, "airplane", "en", "air-m-one.ogg", 2.0)  # English folders hold groans and laughter only
    return root


def test_takes_the_two_fish_per_language_as_16_khz_train_clips(tree, tmp_path):
    out = tmp_path / "out"
    assert fs.make([tree], out, per_speaker=10) == 6
    clips = load_dataset(out)
    assert sorted({c.speaker for c in clips}) == ["fillets-cs-m", "fillets-cs-v", "fillets-nl-m"]
    assert {c.label for c in clips} == {0} and {c.split for c in clips} == {"train"}
    assert {c.source for c in clips} == {"fillets-cs", "fillets-nl"}
    for clip in clips:
        info = sf.info(clip.path)
        assert info.samplerate == 16000 and info.channels == 1
        assert info.duration == pytest.approx(2.0 if "-one" in clip.path.name else 1.5, abs=0.01)


def test_per_speaker_caps_each_voice_reproducibly(tree, tmp_path):
    first = fs.make([tree], tmp_path / "a", per_speaker=1, seed=3)
    assert first == 3
    names = sorted(p.name for p in (tmp_path / "a" / "audio").iterdir())
    fs.make([tree], tmp_path / "b", per_speaker=1, seed=3)
    assert names == sorted(p.name for p in (tmp_path / "b" / "audio").iterdir())


def test_an_empty_root_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit, match="no Fish Fillets dialogue"):
        fs.make([tmp_path], tmp_path / "out", per_speaker=5)
    with pytest.raises(SystemExit):
        fs.main(["--root", str(tmp_path), "--out", str(tmp_path / "o"), "--per-speaker", "0"])
    assert "--per-speaker must be at least 1" in capsys.readouterr().err
