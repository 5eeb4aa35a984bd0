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
    print(f"{path.name}: {result.verdict.upper()} (score {result.score}, threshold {result.threshold:.3f})")
    for u in result.utterances:
        print(f"  utterance {u.start_s:6.2f}-{u.end_s:6.2f} s  {u.verdict}  {u.score:.3f}")
    for a in result.alerts:
        print(f"  alert at {a.end_s:.2f} s (score {a.score:.3f}, early: {a.early})")
work.cleanup()
