"""The supplements' shared loop (lab.supplements.common): what each one writes is what train --data reads."""

from __future__ import annotations

import csv
import subprocess

import numpy as np
import soundfile as sf

from lab.supplements.common import GeneratedClip, synthesise_audio, write_set
from tests.helpers import speech_like
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.training.datasets import MANIFEST_COLUMNS, load_dataset


def test_write_set_writes_train_only_flac_and_a_manifest_after_the_rows_it_joins(tmp_path):
    other = tmp_path / "other.flac"
    sf.write(other, speech_like(1.0, seed=9), SAMPLE_RATE)
    joined = [str(other), "bonafide", "corpus", "c1", "dev", "1.00", "CC0"]
    clips = [GeneratedClip("a", speech_like(1.5, seed=1), "spoof", "tts", "v1"),
             GeneratedClip("b", 3.0 * speech_like(0.5, seed=2), "bonafide", "game", "s1", "GPL-2+")]
    rows = write_set(tmp_path / "out", iter(clips), total=2, rows_before=[joined])
    assert rows[0] == joined and len(rows) == 3
    with open(tmp_path / "out" / "manifest.csv", newline="") as handle:
        manifest = list(csv.reader(handle))
    assert tuple(manifest[0]) == MANIFEST_COLUMNS and manifest[1:] == rows
    for row, clip in zip(rows[1:], clips, strict=True):
        info = sf.info(row[0])
        assert row[0].startswith("/") and row[0].endswith(f"audio/{clip.name}.flac")
        assert info.samplerate == SAMPLE_RATE and info.subtype == "PCM_16" and info.channels == 1
        assert row[1:5] == [clip.label, clip.source, clip.speaker, "train"]
        assert float(row[5]) == round(len(clip.audio) / SAMPLE_RATE, 2)
    loud, _ = sf.read(rows[2][0])
    assert np.max(np.abs(loud)) <= 1.0  # clipped, not wrapped round by the 16-bit conversion
    assert rows[2][6] == "GPL-2+" and rows[1][6] == "generated locally"
    clips = load_dataset(tmp_path / "out")
    assert [c.split for c in clips] == ["dev", "train", "train"] and [c.label for c in clips] == [0, 1, 0]


def test_synthesise_audio_resamples_what_the_engine_wrote(tmp_path):
    def speak(wav):
        sf.write(wav, 0.1 * np.sin(np.arange(22050) * 0.05), 22050)  # one second at 22.05 kHz

    audio = synthesise_audio(speak)
    assert audio is not None and abs(len(audio) - SAMPLE_RATE) <= 1


def test_synthesise_audio_is_none_when_the_engine_fails_times_out_or_writes_nothing():
    def crash(wav):
        raise subprocess.CalledProcessError(-11, ["festival"])

    def hang(wav):
        raise subprocess.TimeoutExpired(["pico2wave"], 60)

    def header_only(wav):
        sf.write(wav, np.zeros(0, np.float32), SAMPLE_RATE)

    assert [synthesise_audio(f) for f in (crash, hang, header_only, lambda wav: None)] == [None] * 4
