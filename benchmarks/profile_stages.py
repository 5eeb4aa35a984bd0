"""Where the CPU goes inside the stages: ``voxwatch bench`` run in this process with the hot functions wrapped.

``voxwatch bench`` reports each stage's CPU per audio second; this splits the verifier's and the voice worker's
work further (features, onnxruntime, the telephone band measure, the encoder's front end, the match against the
voiceprints) and counts the copies of utterance audio. Each wrapped call adds its own thread's CPU time
(``time.thread_time``: what the thread ran, not what it waited for the GIL), so the figures are exact per call
even on a busy machine; the wrappers cost a microsecond or two per call.

    python3 benchmarks/profile_stages.py --voices 10 --no-int8 --no-latency --no-alert-latency --gated "" \\
        --streams 10 --seconds 30 --repeat 3

Any ``voxwatch bench`` arguments go through. The totals include every run the bench makes (the filter-only runs,
the runs with and without voices) and the enrolment of the synthetic voices (the voice rows' first calls).
Like the ``voxwatch`` command, it sets single-threaded BLAS and pins glibc's malloc thresholds first: without
either, the figures are those of another program (docs/performance.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads, as voxwatch/cli.py does
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's voxwatch, not an installed one

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from voxwatch.malloc_tuning import pin_malloc_thresholds  # noqa: E402

CPU: dict[str, float] = collections.defaultdict(float)
CALLS: collections.Counter[str] = collections.Counter()


def wrap(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` with a wrapper that adds each call's thread CPU time to ``label``."""
    fn: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        c0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            CPU[label] += time.thread_time() - c0
            CALLS[label] += 1

    setattr(owner, name, timed)


def instrument() -> None:
    """Wrap the functions where the names are looked up (a module that imported a name holds its own binding)."""
    import voxwatch.pipeline.framecache as framecache
    import voxwatch.pipeline.stages.verifier.features as verifier_features
    import voxwatch.pipeline.stages.verifier.session as verifier_session
    import voxwatch.pipeline.stages.voice.features as voice_features
    import voxwatch.pipeline.stages.voice.session as voice_session
    import voxwatch.pipeline.utterance_audio as utterance_audio
    import voxwatch.voices.watch as watch

    wrap(framecache, "frame_features", "filter: frame rows (frame_features)")
    wrap(framecache, "normalize", "filter: window normalisation")
    wrap(utterance_audio.UtteranceAudio, "append", "cascade: keep utterance audio (append)")
    wrap(utterance_audio.UtteranceAudio, "span", "cascade: copy an utterance out (span)")
    wrap(verifier_session.OnnxVerifier, "judge", "verifier: judge, all of it")
    wrap(verifier_features, "verifier_audio", "verifier:   audio (last max_s, tiled)")
    wrap(verifier_features, "features", "verifier:   features")
    wrap(verifier_session.OnnxVerifier, "score_features", "verifier:   onnxruntime")
    wrap(verifier_session, "in_telephone_band", "verifier:   telephone band measure")
    wrap(watch.VoiceChecker, "check_audio", "voice: check, all of it")
    wrap(voice_session.OnnxVoiceEncoder, "speech", "voice:   preprocess (volume, silences)")
    wrap(voice_features, "voiced_mask", "voice:     webrtcvad mask")
    wrap(voice_session, "partials", "voice:   partials (mel spectrogram)")
    wrap(voice_session.OnnxVoiceEncoder, "embed_partials", "voice:   encoder onnxruntime")
    wrap(watch, "check", "voice:   match against the voiceprints")


def main() -> None:
    from voxwatch.commands import bench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench.add_arguments(parser)
    args = parser.parse_args()
    pin_malloc_thresholds()
    instrument()
    bench.run(args)
    print(f"\n{'function (all runs of this bench)':44s} {'CPU ms':>9s} {'calls':>7s} {'µs per call':>12s}")
    for label in sorted(CPU):
        print(f"{label:44s} {CPU[label] * 1e3:9.1f} {CALLS[label]:7d} {CPU[label] / CALLS[label] * 1e6:12.1f}")


if __name__ == "__main__":
    main()
