"""Each evaluation-only adapter on a tiny generated checkout laid out like its repository."""

from __future__ import annotations

import pytest
from eval_checkout import by_path, make_checkout

from voxwatch.training.generators.adapters import speakerrecognition, urdu_dataset
from voxwatch.training.generators.adapters.demo_pages import UnlabelledAudio


def _clips(adapter, root):
    return by_path(adapter.clips(root, "0123abc"), root)


def _systems(clips):
    return {path: (c.label, c.system, c.family) for path, c in clips.items()}


def test_speakerrecognition_yields_real_telephone_speech_by_speaker_folder(tmp_path):
    root = make_checkout(
        tmp_path,
        ["audio_data/female_audio/F_1298636066/1298636066_1.wav", "audio_data/male_audio/M_124534534/124534534_5.wav"],
        {"audio_data/README.txt": "digits over the telephone"},
    )
    clips = _clips(speakerrecognition, root)
    assert {c.speaker for c in clips.values()} == {"speakerrecognition:F_1298636066", "speakerrecognition:M_124534534"}
    labels = {(c.label, c.family, c.use, c.version) for c in clips.values()}
    assert labels == {("bonafide", "real", "eval-only", "0123abc")}
    assert speakerrecognition.USE == "eval-only" and speakerrecognition.REPO == "klchang/SpeakerRecognition"


def test_urdu_dataset_names_the_speaker_across_emotions(tmp_path):
    root = make_checkout(tmp_path, ["Angry/SM1_F1_A01.wav", "Sad/SM1_F3_S12.wav", "Happy/SF4_F2_H30.wav"])
    clips = _clips(urdu_dataset, root)
    assert {c.speaker for c in clips.values()} == {"urdu-dataset:SM1", "urdu-dataset:SF4"}
    assert {c.label for c in clips.values()} == {"bonafide"}
    make_checkout(tmp_path, ["Neutral/unnamed.wav"])
    with pytest.raises(UnlabelledAudio):
        _clips(urdu_dataset, root)
