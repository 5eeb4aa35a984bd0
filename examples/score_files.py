"""Score audio files from Python: the numbers ``voxwatch score`` prints, as objects.

    python examples/score_files.py call.wav other.flac
    python examples/score_files.py          # the real recording shipped with voxwatch, and, with espeak-ng, a
                                            # synthetic utterance beside it: REAL and FAKE on any machine
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from voxwatch import Detector
from voxwatch.demo import REAL_RECORDING

work = tempfile.TemporaryDirectory()
paths = [Path(p) for p in sys.argv[1:]]
if not paths:
    paths = [REAL_RECORDING]
    if shutil.which("espeak-ng"):
        synthetic = Path(work.name) / "synthetic.wav"
        subprocess.run(["espeak-ng", "-w", str(synthetic), "Please confirm the code we just sent you."], check=True)
        paths.append(synthetic)

detector = Detector()
for path in paths:
    result = detector.score_file(path)
    # the file's score aggregates its utterances' filter scores; each utterance's verdict is the deciding stage's
    # (with the cascade, the verifier's where the filter's score reached its gate), against that stage's threshold
    score = "no speech" if result.score is None else f"filter score {result.score:.3f}"
    verified = f", {result.verified_utterances} judged by the verifier" if result.verifier_id else ""
    print(f"{path.name}: {result.verdict.upper()} ({score}{verified})")
    for u in result.utterances:
        scores = f"; filter {u.filter_score:.3f}" if u.stage == "verifier" and u.filter_score is not None else ""
        print(f"  utterance {u.start_s:6.2f}-{u.end_s:6.2f} s  {u.verdict}  {u.score:.3f} "
              f"({u.stage}, threshold {u.threshold:.3f}{scores})" + (f": {u.why}" if u.why else ""))
    for a in result.alerts:
        print(f"  alert at {a.end_s:.2f} s (score {a.score:.3f} against the {a.stage}'s threshold {a.threshold:.3f}, "
              f"early: {a.early})")
work.cleanup()
