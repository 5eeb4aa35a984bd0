"""Score audio files from Python: the numbers ``voxwatch score`` prints, as objects.

    python examples/score_files.py call.wav other.flac
"""

import sys

from voxwatch import Detector

detector = Detector()
for path in sys.argv[1:]:
    result = detector.score_file(path)
    print(f"{path}: {result.verdict} (score {result.score}, threshold {result.threshold:.3f})")
    for u in result.utterances:
        print(f"  utterance {u.start_s:6.2f}-{u.end_s:6.2f} s  {u.verdict}  {u.score:.3f}")
    for a in result.alerts:
        print(f"  alert at {a.end_s:.2f} s (score {a.score:.3f}, early: {a.early})")
