"""Flag machine-generated speech from the default microphone with voxwatch's Python API (Ctrl-C to stop).

    pip install . && python examples/microphone.py      # from a checkout (README, Install); needs PortAudio
"""

import numpy as np
import sounddevice as sd

from voxwatch import Detector

detector = Detector()  # bundled model and default settings; Detector(model=..., config=...) for your own
print(f"listening with model {detector.model_id} (threshold {detector.threshold:.3f}); Ctrl-C to stop")
with sd.InputStream(samplerate=16000, channels=1, dtype="int16", blocksize=1600) as mic:
    try:
        while True:
            block, _overflowed = mic.read(1600)  # 100 ms of 16 kHz int16 audio
            for j in detector.process(np.asarray(block)[:, 0]):
                if j.kind == "alert":
                    print(f"ALERT   {j.start_s:7.2f}-{j.end_s:7.2f} s  score {j.score:.3f}")
                elif j.kind == "verdict":
                    print(f"{j.verdict:7} {j.start_s:7.2f}-{j.end_s:7.2f} s  score {j.score:.3f}")
    except KeyboardInterrupt:
        for j in detector.flush():
            print(j.kind, j.verdict, f"{j.score:.3f}")
