"""Each evaluation-only adapter on a tiny generated checkout laid out like its repository."""

from __future__ import annotations

import importlib
from collections import Counter

import pytest

from lab.data.adapters import (
    aijianiula0601_flowcpcvc,
    bigvgan_demo_github_io,
    diffwave_demo_github_io,
    edresson_yourtts,
    jaywalnut310_glow_tts_demo,
    jaywalnut310_vits_demo,
    klchang_speakerrecognition,
    lvc_vc_demo,
    olawod_freevc_demo,
    sh_lee_prml_hierspeechpp_demo,
    siddiquelatif_urdu_dataset,
    starganv2_vc_github_io,
    styletts2_github_io,
    wavegrad_github_io,
)
from lab.data.adapters.demo_pages import UnlabelledAudio
from lab.data.data_sources import SOURCES
from lab.tests.eval_checkout import by_path, make_checkout


def _slug(adapter) -> str:
    """The catalogue entry naming this adapter gives the checkout folder's name (and the provenance)."""
    return next(s.slug for s in SOURCES if s.adapter == adapter.__name__.rsplit(".", 1)[-1])


def _clips(adapter, root):
    return by_path(adapter.clips(root, "0123abc"), root)


def _systems(clips):
    return {path: (c.label, c.system, c.family) for path, c in clips.items()}


def test_speakerrecognition_yields_real_telephone_speech_by_speaker_folder(tmp_path):
    root = make_checkout(
        tmp_path / _slug(klchang_speakerrecognition),
        ["audio_data/female_audio/F_1298636066/1298636066_1.wav", "audio_data/male_audio/M_124534534/124534534_5.wav"],
        {"audio_data/README.txt": "digits over the telephone"},
    )
    clips = _clips(klchang_speakerrecognition, root)
    assert {c.speaker for c in clips.values()} == {"speakerrecognition:F_1298636066", "speakerrecognition:M_124534534"}
    labels = {(c.label, c.family, c.use, c.version) for c in clips.values()}
    assert labels == {("bonafide", "real", "eval-only", "0123abc")}
    assert {c.source for c in clips.values()} == {"klchang/SpeakerRecognition"}


def test_urdu_dataset_names_the_speaker_across_emotions(tmp_path):
    root = make_checkout(
        tmp_path / _slug(siddiquelatif_urdu_dataset),
        ["Angry/SM1_F1_A01.wav", "Sad/SM1_F3_S12.wav", "Happy/SF4_F2_H30.wav"],
    )
    clips = _clips(siddiquelatif_urdu_dataset, root)
    assert {c.speaker for c in clips.values()} == {"urdu-dataset:SM1", "urdu-dataset:SF4"}
    assert {c.label for c in clips.values()} == {"bonafide"}
    make_checkout(tmp_path / _slug(siddiquelatif_urdu_dataset), ["Neutral/unnamed.wav"])
    with pytest.raises(UnlabelledAudio):
        _clips(siddiquelatif_urdu_dataset, root)


def test_yourtts_labels_ground_truth_references_yourtts_and_sc_glowtts(tmp_path):
    root = make_checkout(
        tmp_path / _slug(edresson_yourtts),
        [
            "audios_demo/GT/VCTK/p225/p225_007.wav",
            "audios_demo/GT/MLS-PT/11995/11995_10229_000003.wav",
            "audios_demo/Exp.6/EN-PT/M-M/reference/11995_10229_000007.wav",
            "audios_demo/Exp.6/EN-PT/M-M/generated/p245_to_11995_sample_11995_10229_000007.wav",
            "audios_demo/Exp.3/model+SCL/English_LibriTTS_SECS/1089_0.wav",
            "audios_demo/Exp.5/English/After-FT-1-min/F-1.5k/EN-F.wav_0.wav",
            "audios_demo/SC-GlowTTS-Trans/p225/0.wav",
        ],
    )
    clips = _clips(edresson_yourtts, root)
    labels = Counter((c.label, c.system, c.family) for c in clips.values())
    assert labels == {
        ("bonafide", "ground-truth", "real"): 3,
        ("spoof", "yourtts", "vits-like"): 3,
        ("spoof", "sc-glowtts", "gan-vocoder"): 1,
    }
    assert clips["audios_demo/Exp.6/EN-PT/M-M/reference/11995_10229_000007.wav"].label == "bonafide"
    generated = clips["audios_demo/Exp.6/EN-PT/M-M/generated/p245_to_11995_sample_11995_10229_000007.wav"]
    assert (generated.system, generated.family, generated.speaker) == ("yourtts", "vits-like", "yourtts:mls-11995")
    assert clips["audios_demo/SC-GlowTTS-Trans/p225/0.wav"].speaker == "yourtts:p225"
    assert clips["audios_demo/GT/VCTK/p225/p225_007.wav"].speaker == "yourtts:vctk-p225"
    assert clips["audios_demo/Exp.3/model+SCL/English_LibriTTS_SECS/1089_0.wav"].speaker == "yourtts:libritts-1089"
    assert {c.license for c in clips.values()} == {"CC BY-NC-ND 4.0 (LICENSE of branch main)"}


def test_hierspeechpp_drops_the_naturalspeech_comparison_and_skips_tones_and_super_resolved_speech(tmp_path):
    root = make_checkout(
        tmp_path / _slug(sh_lee_prml_hierspeechpp_demo),
        [
            "audio/GT_VCTK/p228_022.wav",
            "audio/0_zeroshot_tts/expresso_tts/ex01_whisper_00359.wav",
            "audio/0_zeroshot_tts/expresso_tts_hier/ex01_whisper_00359.wav",
            "audio/1_zeroshot_tts/coquitts_test_clean/121_121726_000029_000003.wav",
            "audio/1_zeroshot_tts/valle_clean/121_121726_000029_000003.wav",
            "audio/1_zeroshot_tts/hierspeech/121_121726_000029_000003.wav",
            "audio/2_Table11/naturalspeech2_gt/reference_1.wav",
            "audio/2_Table11/styletts2/reference_1.wav",
            "audio/4_zeroshot_vc/AutoVC/p228_022_to_p233_018.wav",
            "audio/4_zeroshot_vc/hierspeechpp_lt460/p228_022_to_p233_018.wav",
            "audio/5_audible/1000.wav",
            "audio/6_sr/gt_ssr/1089_134691_000005_000003.wav",
            "audio/6_sr/syn_voc/1089_134691_000005_000003.wav",
        ],
    )
    clips = _clips(sh_lee_prml_hierspeechpp_demo, root)
    assert not any("2_Table11" in p or "5_audible" in p or "gt_ssr" in p for p in clips)
    assert {p.split("/")[-2]: (c.label, c.system) for p, c in clips.items()} == {
        "GT_VCTK": ("bonafide", "ground-truth"),
        "expresso_tts": ("bonafide", "ground-truth"),
        "expresso_tts_hier": ("spoof", "hierspeechpp"),
        "coquitts_test_clean": ("spoof", "xtts"),
        "valle_clean": ("spoof", "valle"),
        "hierspeech": ("spoof", "hierspeech"),
        "AutoVC": ("spoof", "autovc"),
        "hierspeechpp_lt460": ("spoof", "hierspeechpp"),
        "syn_voc": ("spoof", "hierspeechpp"),
    }
    assert clips["audio/4_zeroshot_vc/AutoVC/p228_022_to_p233_018.wav"].speaker == "hierspeechpp-demo:vctk-p233"
    prompt = clips["audio/0_zeroshot_tts/expresso_tts/ex01_whisper_00359.wav"]
    assert prompt.speaker == "hierspeechpp-demo:expresso-ex01"


def test_styletts2_drops_the_folders_holding_naturalspeech_and_names_styletts2_vits_like(tmp_path):
    root = make_checkout(
        tmp_path / _slug(styletts2_github_io),
        [
            "wavs/LJSpeech/ID/GT/00001.wav",
            "wavs/LJSpeech/ID/NaturalSpeech/00001.wav",
            "wavs/LJSpeech/ID/StyleTTS2/00001.wav",
            "wavs/LJSpeech/OOD/GT/00001.wav",
            "wavs/LJSpeech/OOD/StyleTTS2/00001.wav",
            "wavs/LJSpeech/OOD/StyleTTS/00001.wav",
            "wavs/LJSpeech/OOD/JETS/00001.wav",
            "wavs/LibriTTS/Ref/1221-135767-0014.wav",
            "wavs/LibriTTS/NaturalSpeech2/1221-135767-0014.wav",
            "wavs/VCTK/Ref/p234_019.wav",
            "wavs/VCTK/VITS/p234_019.wav",
            "wavs/Long/GT.mp3",
            "wavs/Ablation/noSLM/1.wav",
            "wavs/Variation/FastDiff/1.wav",
        ],
    )
    clips = _clips(styletts2_github_io, root)
    assert not any(p.startswith(("wavs/LJSpeech/ID/", "wavs/LibriTTS/")) for p in clips)
    assert _systems(clips) == {
        "wavs/LJSpeech/OOD/GT/00001.wav": ("bonafide", "ground-truth", "real"),
        "wavs/LJSpeech/OOD/StyleTTS2/00001.wav": ("spoof", "styletts2", "vits-like"),
        "wavs/LJSpeech/OOD/StyleTTS/00001.wav": ("spoof", "styletts", "gan-vocoder"),
        "wavs/LJSpeech/OOD/JETS/00001.wav": ("spoof", "jets", "vits-like"),
        "wavs/VCTK/Ref/p234_019.wav": ("bonafide", "ground-truth", "real"),
        "wavs/VCTK/VITS/p234_019.wav": ("spoof", "vits", "vits-like"),
        "wavs/Long/GT.mp3": ("bonafide", "ground-truth", "real"),
        "wavs/Ablation/noSLM/1.wav": ("spoof", "styletts2", "vits-like"),
        "wavs/Variation/FastDiff/1.wav": ("spoof", "fastdiff", "diffusion"),
    }


def test_bigvgan_drops_test_other_and_music_and_groups_variants(tmp_path):
    names = ["ltclean1", "ltother1", "korean", "guitar"]
    folders = ["gt", "bigvgan", "bigvgan-base", "mrd_snake", "bighifigan", "hifigan_mrd", "univnet", "sc-wavernn"]
    root = make_checkout(
        tmp_path / _slug(bigvgan_demo_github_io), [f"samples/{f}/{n}.wav" for f in folders for n in names]
    )
    clips = _clips(bigvgan_demo_github_io, root)
    assert {p.rsplit("/", 1)[-1] for p in clips} == {"ltclean1.wav", "korean.wav"}
    per_system = Counter(c.system for c in clips.values())
    assert per_system == {"ground-truth": 2, "bigvgan": 6, "hifigan": 4, "univnet": 2, "sc-wavernn": 2}
    assert clips["samples/univnet/korean.wav"].speaker == clips["samples/gt/korean.wav"].speaker
    assert clips["samples/sc-wavernn/korean.wav"].family == "autoregressive"


def test_lvc_vc_labels_sources_targets_and_anonymised_speech(tmp_path):
    root = make_checkout(
        tmp_path / _slug(lvc_vc_demo),
        [
            "audio/vctk_orig/p241_302.wav",
            "audio/autovc_f0/s2s/p241_302_p334_396.wav",
            "audio/lvc_vc_xl/u2u/p231_259_p326_355.wav",
            "audio/blow/s2s/p225_224_p247_455.wav",
            "audio/lvn_anon/Cesar_652_0.wav",
            "audio/lvn_anon/Cesar_652_0_anon.wav",
        ],
    )
    clips = _clips(lvc_vc_demo, root)
    assert {p: c.system for p, c in clips.items()} == {
        "audio/vctk_orig/p241_302.wav": "ground-truth",
        "audio/autovc_f0/s2s/p241_302_p334_396.wav": "autovc",
        "audio/lvc_vc_xl/u2u/p231_259_p326_355.wav": "lvc-vc",
        "audio/blow/s2s/p225_224_p247_455.wav": "blow",
        "audio/lvn_anon/Cesar_652_0.wav": "ground-truth",
        "audio/lvn_anon/Cesar_652_0_anon.wav": "lvc-vc",
    }
    assert clips["audio/autovc_f0/s2s/p241_302_p334_396.wav"].speaker == "lvc-vc-demo:vctk-p334"
    assert clips["audio/lvn_anon/Cesar_652_0.wav"].speaker == "lvc-vc-demo:lvn-Cesar"
    assert {c.family for c in clips.values() if c.label == "spoof"} == {"voice-conversion"}


def test_flowcpcvc_skips_neural_tts_targets_but_keeps_the_conversions_to_them(tmp_path):
    pair = "0012_000656_to_en-US-AriaNeural_1624612591339"
    root = make_checkout(
        tmp_path / _slug(aijianiula0601_flowcpcvc),
        [
            f"any2any/yuqi/source_target_wavs/{pair}/0012_000656.wav",
            f"any2any/yuqi/source_target_wavs/{pair}/en-US-AriaNeural_1624612591339.wav",
            f"any2any/yuqi/flowcpcvc/{pair}.wav",
            "any2any/vctk2vctk/fragementvc/p231_406_to_p243_148.wav",
            "any2many/flowcpcvc/1401_174511_000011_000000.wav",
            "any2many/flowcpcvc/1401_174511_000011_000000_to_p236.wav",
            "any2many/flowcpcvc/target_tone_wavs/p236_482.wav",
        ],
    )
    clips = _clips(aijianiula0601_flowcpcvc, root)
    assert _systems(clips) == {
        f"any2any/yuqi/source_target_wavs/{pair}/0012_000656.wav": ("bonafide", "ground-truth", "real"),
        f"any2any/yuqi/flowcpcvc/{pair}.wav": ("spoof", "flowcpcvc", "voice-conversion"),
        "any2any/vctk2vctk/fragementvc/p231_406_to_p243_148.wav": ("spoof", "fragmentvc", "voice-conversion"),
        "any2many/flowcpcvc/1401_174511_000011_000000.wav": ("bonafide", "ground-truth", "real"),
        "any2many/flowcpcvc/1401_174511_000011_000000_to_p236.wav": ("spoof", "flowcpcvc", "voice-conversion"),
        "any2many/flowcpcvc/target_tone_wavs/p236_482.wav": ("bonafide", "ground-truth", "real"),
    }
    assert clips["any2many/flowcpcvc/1401_174511_000011_000000_to_p236.wav"].speaker == "flowcpcvc:vctk-p236"


def test_starganv2_labels_sources_and_targets_real_and_skips_sung_sources(tmp_path):
    root = make_checkout(
        tmp_path / _slug(starganv2_vc_github_io),
        [
            "wav/VCTK/Seen/F2F/p229xp236/source.wav",
            "wav/VCTK/Seen/F2F/p229xp236/target.wav",
            "wav/VCTK/Seen/F2F/p229xp236/autovc.wav",
            "wav/VCTK/Seen/F2F/p229xp236/starganv2.wav",
            "wav/VCTK/Crosslingual/Korean/p244.wav",
            "wav/Ablation/p233_to_p259/no_F0.wav",
            "wav/VCTK/Singing/p233/source.wav",
            "wav/VCTK/Singing/p233/cd.wav",
        ],
    )
    clips = _clips(starganv2_vc_github_io, root)
    assert {p: (c.system, c.speaker.split(":")[1]) for p, c in clips.items()} == {
        "wav/VCTK/Seen/F2F/p229xp236/source.wav": ("ground-truth", "vctk-p229"),
        "wav/VCTK/Seen/F2F/p229xp236/target.wav": ("ground-truth", "vctk-p236"),
        "wav/VCTK/Seen/F2F/p229xp236/autovc.wav": ("autovc", "vctk-p236"),
        "wav/VCTK/Seen/F2F/p229xp236/starganv2.wav": ("starganv2-vc", "vctk-p236"),
        "wav/VCTK/Crosslingual/Korean/p244.wav": ("starganv2-vc", "vctk-p244"),
        "wav/Ablation/p233_to_p259/no_F0.wav": ("starganv2-vc", "vctk-p259"),
        "wav/VCTK/Singing/p233/cd.wav": ("polyak-svc", "vctk-p233"),
    }


def test_freevc_labels_converters_and_skips_the_resize_augmentation(tmp_path):
    root = make_checkout(
        tmp_path / _slug(olawod_freevc_demo),
        [
            "data/wavs/F_p253_219.wav",
            "data/wavs/M_908_31957_000018_000000.wav",
            "data/freevc-spk/s2s/F_p335_302-F_p253_219.wav",
            "data/bne-ppg-vc/u2u/F_p362_103-M_908_31957_000018_000000.wav",
            "data/yourtts/u2s/F_p335_302-F_p253_219.wav",
            "data/sr/wavs/p225_001-h-106.wav",
        ],
    )
    clips = _clips(olawod_freevc_demo, root)
    assert {p: (c.system, c.speaker.split(":")[1]) for p, c in clips.items()} == {
        "data/wavs/F_p253_219.wav": ("ground-truth", "vctk-p253"),
        "data/wavs/M_908_31957_000018_000000.wav": ("ground-truth", "libritts-908"),
        "data/freevc-spk/s2s/F_p335_302-F_p253_219.wav": ("freevc", "vctk-p253"),
        "data/bne-ppg-vc/u2u/F_p362_103-M_908_31957_000018_000000.wav": ("bne-ppg-vc", "libritts-908"),
        "data/yourtts/u2s/F_p335_302-F_p253_219.wav": ("yourtts", "vctk-p253"),
    }


VITS_PAGE = """<html><body><h1>Audio Samples from "VITS"</h1><audio><source src="wavs/abs.wav"></audio>
<h2>Single Speaker (LJ Speech Dataset)</h2>
<table><tr><td><h4>Text</h4></td><td class="text">that not more than one bottle</td></tr>
<tr><td class="first-col">Ground Truth</td><td><audio><source src="wavs/ss_01_gt.wav"></audio></td></tr>
<tr><td class="first-col">Tacotron 2 + HiFi-GAN</td><td><audio><source src="wavs/ss_01_th.wav"></audio></td></tr>
<tr><td class="first-col">Glow-TTS + HiFi-GAN (fine-tuned)</td>
<td><audio><source src="wavs/ss_01_ghf.wav"></audio></td></tr>
<tr><td class="first-col">VITS</td><td><audio><source src="wavs/ss_01_vits.wav"></audio></td></tr></table>
<h2>Voice Conversion</h2>
<table><tr><th>From\\To</th><th>VCTK 260</th></tr>
<tr><th>VCTK 260</th><td><audio><source src="wavs/vc_01_01.wav"></audio></td></tr></table>
</body></html>"""


def test_vits_demo_names_each_file_by_the_page_table(tmp_path):
    names = ["abs", "ss_01_gt", "ss_01_th", "ss_01_ghf", "ss_01_vits", "vc_01_01"]
    root = make_checkout(
        tmp_path / _slug(jaywalnut310_vits_demo), [f"wavs/{n}.wav" for n in names], {"index.html": VITS_PAGE}
    )
    clips = _clips(jaywalnut310_vits_demo, root)
    assert {p: (c.system, c.family) for p, c in clips.items()} == {
        "wavs/abs.wav": ("vits", "vits-like"),
        "wavs/ss_01_gt.wav": ("ground-truth", "real"),
        "wavs/ss_01_th.wav": ("tacotron2-hifigan", "gan-vocoder"),
        "wavs/ss_01_ghf.wav": ("glow-tts-hifigan", "gan-vocoder"),
        "wavs/ss_01_vits.wav": ("vits", "vits-like"),
        "wavs/vc_01_01.wav": ("vits", "vits-like"),
    }
    assert clips["wavs/ss_01_gt.wav"].speaker == "vits-demo:ljspeech"
    make_checkout(tmp_path / _slug(jaywalnut310_vits_demo), ["wavs/not_on_the_page.wav"])
    with pytest.raises(UnlabelledAudio):
        _clips(jaywalnut310_vits_demo, root)


GLOW_PAGE = """<h3>Single Speaker TTS</h3><table>
<tr><th>GT</th><th>GT(WaveGlow)</th><th>Tacotron 2</th><th>Glow-TTS (T=0.333)</th></tr>
<tr><td><audio src="wavs/lj_01_gt.wav"></audio></td><td><audio src="wavs/lj_01_wg.wav"></audio></td>
<td><audio src="wavs/lj_01_taco.wav"></audio></td><td><audio src="wavs/lj_01_ours_3.wav"></audio></td></tr></table>
<h4>Quality improvement</h4><table><tr><th>Glow-TTS*</th></tr><tr><td><audio src="wavs/hifi_01_generated_e2e.wav">
</audio></td></tr></table><h3>Voice Conversion</h3><table><tr><th>From\\To</th><th>LibriTTS 118</th></tr>
<tr><th>LibriTTS 2836</th><td><audio src="wavs/vc_2836_118.wav"></audio></td></tr></table>"""


def test_glow_tts_demo_separates_waveglow_resynthesis_tacotron_and_the_hifigan_variant(tmp_path):
    names = ["lj_01_gt", "lj_01_wg", "lj_01_taco", "lj_01_ours_3", "hifi_01_generated_e2e", "vc_2836_118"]
    root = make_checkout(
        tmp_path / _slug(jaywalnut310_glow_tts_demo), [f"wavs/{n}.wav" for n in names], {"index.html": GLOW_PAGE}
    )
    clips = _clips(jaywalnut310_glow_tts_demo, root)
    assert {p: (c.system, c.family) for p, c in clips.items()} == {
        "wavs/lj_01_gt.wav": ("ground-truth", "real"),
        "wavs/lj_01_wg.wav": ("waveglow", "flow"),
        "wavs/lj_01_taco.wav": ("tacotron2-waveglow", "flow"),
        "wavs/lj_01_ours_3.wav": ("glow-tts", "flow"),
        "wavs/hifi_01_generated_e2e.wav": ("glow-tts-hifigan", "gan-vocoder"),
        "wavs/vc_2836_118.wav": ("glow-tts", "flow"),
    }
    assert clips["wavs/vc_2836_118.wav"].speaker == "glow-tts-demo:libritts-118"


def test_wavegrad_labels_vocoders_and_skips_reverse_process_noise(tmp_path):
    root = make_checkout(
        tmp_path / _slug(wavegrad_github_io),
        [
            "wavs/ref_1.wav",
            "wavs/n3.wav",
            "wavs2/C50_1.wav",
            "v2/wavs/specaug_utt1_iter6.wav",
            "baselines/gt/MBMelGAN/MBMelGAN_1.wav",
            "baselines/predicted/WaveFlow/WaveFlow_1.wav",
            "specgrad/data/0_gt.wav",
            "specgrad/data/0_sg_init.wav",
            "specgrad/data/0_pg_iter0.wav",
        ],
    )
    clips = _clips(wavegrad_github_io, root)
    assert {p: (c.system, c.family) for p, c in clips.items()} == {
        "wavs/ref_1.wav": ("ground-truth", "real"),
        "wavs2/C50_1.wav": ("wavegrad", "diffusion"),
        "v2/wavs/specaug_utt1_iter6.wav": ("wavegrad2", "diffusion"),
        "baselines/gt/MBMelGAN/MBMelGAN_1.wav": ("mb-melgan", "gan-vocoder"),
        "baselines/predicted/WaveFlow/WaveFlow_1.wav": ("waveflow", "flow"),
        "specgrad/data/0_gt.wav": ("ground-truth", "real"),
        "specgrad/data/0_pg_iter0.wav": ("priorgrad", "diffusion"),
    }


def test_diffwave_labels_vocoders_and_skips_the_noisy_inputs(tmp_path):
    root = make_checkout(
        tmp_path / _slug(diffwave_demo_github_io),
        [
            "samples/ljspeech-ground-truth/LJ001-0001.wav",
            "samples/ljspeech-diffwave_r64_fast/wav_1.wav",
            "samples/ljspeech-clarinet_r64/LJ001-0001.wav",
            "samples/ljspeech-wavenet/teacher8_l30_k2-LJ001-0001.wav",
            "samples/denoiser/noisy_four_pink_noise.wav",
            "samples/denoiser/denoised_four_pink_noise.wav",
            "samples/denoiser/ground_truth_four.wav",
            "samples/sc09-cond/cond-256-diffwave_12x3.wav",
        ],
    )
    clips = _clips(diffwave_demo_github_io, root)
    assert {p.split("/", 1)[1]: c.system for p, c in clips.items()} == {
        "ljspeech-ground-truth/LJ001-0001.wav": "ground-truth",
        "ljspeech-diffwave_r64_fast/wav_1.wav": "diffwave",
        "ljspeech-clarinet_r64/LJ001-0001.wav": "clarinet",
        "ljspeech-wavenet/teacher8_l30_k2-LJ001-0001.wav": "wavenet",
        "denoiser/denoised_four_pink_noise.wav": "diffwave",
        "denoiser/ground_truth_four.wav": "ground-truth",
        "sc09-cond/cond-256-diffwave_12x3.wav": "diffwave",
    }


def test_every_eval_only_source_is_in_the_catalogue_once_with_an_adapter():
    eval_only = [source for source in SOURCES if source.use == "eval-only"]
    assert len(eval_only) == len({source.repo for source in eval_only}) == 14
    for source in eval_only:
        module = importlib.import_module(f"lab.data.adapters.{source.adapter}")
        assert callable(module.clips) and source.paths and source.license
