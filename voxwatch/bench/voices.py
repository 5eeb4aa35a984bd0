"""Clone watch in the benchmark: voiceprints of synthetic voices, so a throughput run can check every utterance
against N enrolled voices without anyone's recordings.

The voices are the workload's own speech-like signal at different pitches (``workload.speech_like``): the encoder
embeds them like any speech, and what a voice check costs does not depend on whose voice it is. The throughput
run raises the voice queue so that no check is dropped (a dropped check would be work not measured).
"""

from __future__ import annotations

from voxwatch.bench.workload import speech_like
from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
from voxwatch.voices.enrol import Recording, enrol
from voxwatch.voices.voiceprint import Voiceprint
from voxwatch.voices.watch import VoiceChecker

THROUGHPUT_VOICE_QUEUE = 1_000_000  # every voice check of a run fed as fast as taken is made


def synthetic_voiceprints(count: int, encoder: OnnxVoiceEncoder) -> list[Voiceprint]:
    """``count`` voiceprints, each from three 5 s recordings of one synthetic voice (its own pitch)."""
    voiceprints: list[Voiceprint] = []
    for i in range(count):
        f0 = 90.0 + 150.0 * i / max(1, count - 1)
        recordings = [Recording(f"voice{i}-{k}.wav", speech_like(5.0, level=0.3, seed=1000 * i + k, f0=f0))
                      for k in range(3)]
        voiceprints.append(enrol(f"voice{i}", recordings, encoder, voiceprints, force=True))
    return voiceprints


def voice_checker(count: int) -> VoiceChecker:
    encoder = OnnxVoiceEncoder(threads=1)
    return VoiceChecker(synthetic_voiceprints(count, encoder), encoder, f"{count} synthetic voices")
