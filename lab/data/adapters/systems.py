"""The generator family of every system the evaluation-only pages show, under one name shared by all pages.

Evaluation-only fakes are split by system (half to dev, half to test), so a generator shown on several pages
(VITS, YourTTS, AutoVC, VQMIVC, HiFi-GAN, WaveGlow, ...) must carry the same name everywhere, or it would land in
both splits. Variants of one model (checkpoints, ablations, sampling temperatures, model sizes) share its name too.

Family rule: an end-to-end model takes its own family; a two-stage system (acoustic model + separately trained
vocoder) takes its vocoder's, since the waveform traces a detector sees are the vocoder's.
"""

from __future__ import annotations

_VITS_LIKE = ("vits", "yourtts", "hierspeech", "hierspeechpp", "jets")
_GAN_VOCODERS = ("bigvgan", "hifigan", "univnet", "melgan", "mb-melgan", "parallel-wavegan")
_DIFFUSION = ("wavegrad", "wavegrad2", "priorgrad", "specgrad", "diffwave", "fastdiff")
_VOICE_CONVERSION = (
    "adain-vc",
    "again-vc",
    "autovc",
    "blow",
    "bne-ppg-vc",
    "dddm-vc",
    "diff-hiervc",
    "diffvc",
    "flowcpcvc",
    "fragmentvc",
    "freevc",
    "hiervst",
    "lvc-vc",
    "mediumvc",
    "nvc-net",
    "polyak-svc",
    "starganv2-vc",
    "voicemixer",
    "vqmivc",
)

SYSTEM_FAMILIES: dict[str, str] = {
    **dict.fromkeys(_VITS_LIKE, "vits-like"),
    **dict.fromkeys(_GAN_VOCODERS, "gan-vocoder"),
    **dict.fromkeys(_DIFFUSION, "diffusion"),
    **dict.fromkeys(_VOICE_CONVERSION, "voice-conversion"),
    # StyleTTS 2 is trained end to end with an adversarial waveform decoder, as VITS is; its diffusion samples only
    # a small style vector, never the waveform or the spectrogram, so it is not a diffusion generator.
    "styletts2": "vits-like",
    # StyleTTS (1) renders its mel-spectrograms with a separately trained HiFi-GAN.
    "styletts": "gan-vocoder",
    "glow-tts": "flow",  # Glow-TTS with WaveGlow, as in the paper
    "glow-tts-hifigan": "gan-vocoder",
    "sc-glowtts": "gan-vocoder",  # a speaker-conditioned Glow-TTS rendered by HiFi-GAN
    "tacotron2-waveglow": "flow",
    "tacotron2-hifigan": "gan-vocoder",
    "waveglow": "flow",
    "waveflow": "flow",
    "clarinet": "flow",  # a Gaussian inverse-autoregressive flow distilled from WaveNet
    "sc-wavernn": "autoregressive",  # sample by sample
    "wavenet": "autoregressive",
    "wavegan": "gan-vocoder",  # an unconditional GAN waveform generator, the nearest family
    "valle": "autoregressive",
    "xtts": "autoregressive",
    "megatts": "autoregressive",  # prosody from an autoregressive language model
}
