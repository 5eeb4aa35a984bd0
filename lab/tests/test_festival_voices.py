"""Extra festival training voices (lab.supplements.festival_voices): text from gettext catalogues, synthesis."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lab.supplements import festival_voices as fv
from lab.tests.helpers import require_tool, write_mo
from voxwatch.training.datasets import load_dataset


def test_sentences_keep_plain_text_in_the_voice_script_only(tmp_path):
    write_mo(tmp_path / "ru" / "LC_MESSAGES" / "app.mo", {
        "Open the file": "Открыть этот файл сейчас",
        "Saved %s": "Сохранено %s",            # a placeholder: not speakable as is
        "Quit": "Выход",                       # one word: too short for min_words=2
        "<b>Bold</b>": "<b>Жирный шрифт</b>",  # markup
        "Mixed": "Открыть file now",           # another script inside
    })
    assert fv.sentences("ru", "\u0400-\u04ff", tmp_path, min_words=2) == ["Открыть этот файл сейчас"]
    assert fv.sentences("hi", "\u0900-\u097f", tmp_path) == []  # no catalogue for that locale


def test_make_writes_train_only_spoofs_from_each_voice(tmp_path, monkeypatch):
    require_tool("festival")
    for voice in fv.VOICES:
        if not any(Path("/usr/share/festival/voices").glob(f"*/{voice.name}")):
            require_tool(f"festival-voice-{voice.name}")  # fails under CI, skips elsewhere
    locales = tmp_path / "locale"
    write_mo(locales / "ru" / "LC_MESSAGES" / "a.mo", {"a": "Открыть этот файл сейчас", "b": "Сохранить все документы"})
    write_mo(locales / "hi" / "LC_MESSAGES" / "a.mo", {"a": "फ़ाइल को अभी खोलें"})
    write_mo(locales / "mr" / "LC_MESSAGES" / "a.mo", {"a": "फाइल आता उघडा"})
    write_mo(locales / "te" / "LC_MESSAGES" / "a.mo", {"a": "ఫైలును ఇప్పుడు తెరవండి"})
    assert fv.make(tmp_path / "out", count=2, locales=locales) == 8
    clips = load_dataset(tmp_path / "out")
    assert len(clips) == 8 and {c.split for c in clips} == {"train"} and {c.label for c in clips} == {1}
    assert {c.speaker for c in clips} == {v.name for v in fv.VOICES}
    for clip in clips:
        audio, rate = sf.read(str(clip.path))
        assert rate == 16000 and len(audio) > 0.3 * rate and np.sqrt(np.mean(audio**2)) > 0.005  # speech
    with open(tmp_path / "out" / "manifest.csv") as handle:
        assert {row["source"] for row in csv.DictReader(handle)} == {"festival-ru", "festival-hi", "festival-mr",
                                                                   "festival-te"}


def test_bad_count_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        fv.main(["--out", str(tmp_path), "--count", "0"])
    assert exit_info.value.code == 2


def test_a_string_that_crashes_festival_is_replaced_by_another(tmp_path, monkeypatch):
    import subprocess

    write_mo(tmp_path / "locale" / "ru" / "LC_MESSAGES" / "a.mo", {"a": "Открыть этот файл сейчас"})
    calls = []

    def flaky(voice, text, wav):
        calls.append(text)
        if len(calls) == 1:
            raise subprocess.CalledProcessError(-11, ["festival"])
        sf.write(str(wav), 0.1 * np.sin(np.arange(8000) / 5.0), 16000)

    monkeypatch.setattr(fv, "synthesise", flaky)
    monkeypatch.setattr(fv, "VOICES", fv.VOICES[:1])
    monkeypatch.setattr(fv.shutil, "which", lambda name: "/usr/bin/" + name)
    assert fv.make(tmp_path / "out", count=2, locales=tmp_path / "locale") == 2
    assert len(calls) == 3  # the crash, its replacement, the second clip
