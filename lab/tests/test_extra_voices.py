"""The extra-voices tool (lab/notes/experiments.md: tried, not shipped): new clips join the corpus's rows
in one manifest, all in split train, resampled to 16 kHz FLAC; the corpus's own rows keep their splits.
Synthesis is replaced by a generated tone, so the test needs neither flite nor festival."""

import csv
import random

import numpy as np
import soundfile as sf

import lab.supplements.extra_voices as extra
from tests.helpers import speech_like, write_wav
from voxwatch.training.datasets import load_dataset, select


def test_pick_text_gives_words_every_fourth_clip():
    texts = ["The quick brown foxes jumped.", "Another sentence with several words."]
    rng = random.Random(0)
    picks = [extra.pick_text(texts, rng, i) for i in range(8)]
    assert all(" " not in picks[i] and len(picks[i]) > 3 for i in (0, 4))
    assert all(p in texts for i, p in enumerate(picks) if i % 4)


def test_make_joins_new_train_clips_to_the_corpus(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "texts.txt").write_text("Hello there world.\nSpeak slowly please.\n")
    rows = ["path,label,source,speaker,split,duration_s,license"]
    for i, split in enumerate(("train", "dev", "test")):
        write_wav(corpus / f"r{i}.wav", speech_like(1.0, seed=i))
        rows.append(f"r{i}.wav,bonafide,synthetic,r{i},{split},1.0,test")
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n")

    def fake_synthesise(voice, text, wav):  # 22.05 kHz like many TTS engines, so resampling is exercised
        sf.write(wav, 0.1 * np.sin(np.arange(22050) * 0.05), 22050)

    monkeypatch.setattr(extra, "synthesise", fake_synthesise)
    monkeypatch.setattr(extra.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    out = tmp_path / "out"
    assert extra.make(corpus, out, count=3) == 3 + 2 * 3
    with open(out / "manifest.csv") as f:
        manifest = list(csv.DictReader(f))
    new = [r for r in manifest if r["source"] in extra.VOICES]
    assert len(new) == 6 and {r["split"] for r in new} == {"train"} and {r["label"] for r in new} == {"spoof"}
    for row in new:
        info = sf.info(row["path"])
        assert info.samplerate == 16000 and abs(info.duration - 1.0) < 0.01
    clips = load_dataset(out)
    assert len(select(clips, "train")) == 7 and len(select(clips, "dev")) == len(select(clips, "test")) == 1
