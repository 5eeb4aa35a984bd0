"""MBROLA and Pico training voices (lab.supplements.engine_voices): English text from catalogues, real synthesis."""

from __future__ import annotations

import csv
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lab.supplements import engine_voices as ev
from lab.tests.helpers import require_tool, write_mo
from voxwatch.training.datasets import load_dataset


def test_english_sentences_are_plain_msgids_of_any_catalogue(tmp_path):
    write_mo(tmp_path / "de" / "LC_MESSAGES" / "app.mo", {
        "Open the file now": "Datei jetzt öffnen",
        "Saved %s": "%s gespeichert",          # a placeholder: not speakable as is
        "Quit": "Beenden",                     # one word: under min_words
        "<b>Bold text here</b>": "<b>Fett</b>",  # markup
        "show   the options": "Optionen",      # column padding of a help text
    })
    write_mo(tmp_path / "fr" / "LC_MESSAGES" / "other.mo", {"Close all the windows": "Fermer toutes les fenêtres",
                                                            "Open the file now": "Ouvrir le fichier"})
    (tmp_path / "it" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "it" / "LC_MESSAGES" / "broken.mo").write_bytes(b"not a catalogue")
    assert ev.english_sentences(tmp_path) == ["Close all the windows", "Open the file now"]


def test_natural_edges_trim_digital_silence_pad_and_set_a_random_level():
    rng = random.Random(3)
    tone = 0.5 * np.sin(np.arange(16000) / 3.0).astype(np.float32)
    audio = np.concatenate([np.zeros(8000, np.float32), tone, np.zeros(12000, np.float32)])
    peaks, leads = [], []
    for _ in range(20):
        out = ev.natural_edges(audio, rng)
        voiced = np.flatnonzero(np.abs(out) > 1e-4)
        lead, tail = voiced[0], len(out) - 1 - voiced[-1]
        assert 0.05 * 16000 - 2 <= lead <= 0.4 * 16000 and 0.05 * 16000 - 2 <= tail <= 0.4 * 16000
        assert len(out) - lead - tail == pytest.approx(16000, abs=4)
        peaks.append(20 * np.log10(np.max(np.abs(out))))
        leads.append(lead)
    assert -12.01 <= min(peaks) and max(peaks) <= -0.99 and max(peaks) - min(peaks) > 3  # levels vary
    assert len(set(leads)) > 10


def test_command_lines_per_engine(tmp_path):
    wav = tmp_path / "a.wav"
    assert ev.command(ev.Voice("mbrola", "mb-us1", "mbrola"), "hi there", wav) == [
        "espeak-ng", "-v", "mb-us1", "-w", str(wav), "hi there"]
    assert ev.command(ev.Voice("pico", "en-GB", "pico"), "hi there", wav) == [
        "pico2wave", "-l", "en-GB", "-w", str(wav), "hi there"]
    with pytest.raises(ValueError):
        ev.command(ev.Voice("sam", "x", "sam"), "hi", wav)


def _locales(tmp_path: Path) -> Path:
    locales = tmp_path / "locale"
    write_mo(locales / "de" / "LC_MESSAGES" / "a.mo", {"Open the file now": "x", "Save all the documents": "y"})
    return locales


def test_make_writes_train_only_spoofs_from_each_voice(tmp_path):
    require_tool("espeak-ng", "mbrola", "pico2wave")
    for voice in ev.VOICES:
        if voice.engine == "mbrola" and not Path("/usr/share/mbrola", voice.voice[3:]).exists():
            require_tool(f"mbrola-voice-{voice.voice}")  # fails under CI, skips elsewhere
    assert ev.make(tmp_path / "out", count=2, locales=_locales(tmp_path)) == 12
    clips = load_dataset(tmp_path / "out")
    assert len(clips) == 12 and {c.split for c in clips} == {"train"} and {c.label for c in clips} == {1}
    assert {c.speaker for c in clips} == {v.name for v in ev.VOICES}
    for clip in clips:
        audio, rate = sf.read(str(clip.path))
        assert rate == 16000 and len(audio) > 0.5 * rate and np.sqrt(np.mean(audio**2)) > 0.005  # speech
    with open(tmp_path / "out" / "manifest.csv") as handle:
        assert {row["source"] for row in csv.DictReader(handle)} == {"mbrola", "pico"}


def test_missing_engines_are_named_in_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(ev.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="espeak-ng, pico2wave, mbrola"):
        ev.make(tmp_path / "out", count=1, locales=_locales(tmp_path))


def test_a_failed_or_silent_synthesis_is_replaced_by_another_text(tmp_path, monkeypatch):
    calls = []

    def flaky(voice, text, wav):
        calls.append(text)
        if len(calls) == 1:
            raise subprocess.CalledProcessError(1, ["pico2wave"])
        level = 0.0 if len(calls) == 2 else 0.1  # the second attempt writes only digital silence
        sf.write(str(wav), level * np.sin(np.arange(8000) / 5.0), 16000)

    monkeypatch.setattr(ev, "synthesise", flaky)
    monkeypatch.setattr(ev.shutil, "which", lambda name: "/usr/bin/" + name)
    voices = (ev.Voice("pico", "en-US", "pico"),)
    assert ev.make(tmp_path / "out", count=2, locales=_locales(tmp_path), voices=voices) == 2
    assert len(calls) == 4  # the failure, the silence, their replacement, the second clip


def test_bad_count_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        ev.main(["--out", str(tmp_path), "--count", "0"])
    assert exit_info.value.code == 2
