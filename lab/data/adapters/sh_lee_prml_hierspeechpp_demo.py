"""HierSpeech++ (Lee et al., 2023) demo page: zero-shot TTS and VC against YourTTS, VALL-E X, XTTS, Mega-TTS, AutoVC...

``audio/2_Table11`` (the NaturalSpeech 2 comparison, with its ground truth and prompts) is reserved and dropped by
the shared rule. Prompts and ground truth (``GT_VCTK``, ``libritts_test_clean_full``, ``expresso_tts``,
``3_mega/prompt``, ``GT_target_same_uttr``, ``6_sr/gt_16k``/``gt_24k``) are real. No licence is stated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from lab.data.adapters.demo_pages import (
    REAL,
    Fake,
    Rule,
    Skip,
    Verdict,
    label_checkout,
    speaker_from_name,
)
from lab.data.source_clip import SourceClip

RULES = (
    Rule(r"^audio/5_audible/", Skip("sine sweeps of the page's audible-range demo, not speech")),
    Rule(r"^audio/4_zeroshot_vc/noise_vctk/", Skip("not on the page, which does not say what made it")),
    Rule(r"^audio/6_sr/gt_(asr|ssr)/", Skip("real speech upsampled by a neural super-resolution model: neither class")),
    Rule(
        r"^audio/(GT_VCTK|6_sr/gt_(16|24)k|4_zeroshot_vc/GT_target_same_uttr|1_zeroshot_tts/libritts_test_clean_full"
        r"|3_mega/prompt|0_zeroshot_tts/expresso_tts)/",
        REAL,
    ),
    Rule(r"/(hierspeechpp_\w+|expresso_tts_hier|hierspeech_for_megatts)/|^audio/6_sr/syn_", Fake("hierspeechpp")),
    Rule(r"/hierspeech/", Fake("hierspeech")),
    Rule(r"/YourTTS[^/]*/", Fake("yourtts")),
    Rule(r"/coquitts_test_clean/", Fake("xtts")),
    Rule(r"/valle_clean/", Fake("valle")),
    Rule(r"/megatts/", Fake("megatts")),
    Rule(r"/AutoVC/", Fake("autovc")),
    Rule(r"/DiffVC/", Fake("diffvc")),
    Rule(r"/diffhiervc/", Fake("diff-hiervc")),
    Rule(r"/dddmvc/", Fake("dddm-vc")),
    Rule(r"/HierVST/", Fake("hiervst")),
    Rule(r"/VoiceMixer/", Fake("voicemixer")),
)


def _speaker(relpath: str, verdict: Verdict) -> str:
    """Expresso prompts by talker (``ex01``), the anime and celebrity prompts by name, the rest by corpus id."""
    name = relpath.rsplit("/", 1)[-1].removesuffix(".wav")
    if "/0_zeroshot_tts/" in relpath:
        match = re.search(r"ex\d+(?=_)", name)
        return f"expresso-{match.group()}" if match else name.removesuffix("-2005")
    if "/3_mega/" in relpath:
        return name.split("_")[1].replace("spongbob", "spongebob")
    return speaker_from_name(relpath, verdict)


def clips(root: Path, version: str) -> Iterable[SourceClip]:
    return label_checkout(root, version, RULES, speaker=_speaker)
