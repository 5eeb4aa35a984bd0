"""Which channel a stretch of audio came through: the telephone band, or wider.

A call's codecs (G.711, GSM, G.726, Opus and Speex narrowband) keep 300-3400 Hz and drop everything above 4 kHz,
and their distortions look machine-made to a detector trained on wideband speech: at the thresholds chosen on
wideband speech, real speech after a codec raises false alarms (lab/notes/telephone.md). So the cascade's
verifier has a second threshold for telephone-band audio (``CascadeRule.telephone_threshold``), and this module
says which one applies: audio is in the telephone band when its energy from 4 to 7.8 kHz lies more than
``TELEPHONE_BAND_DB`` under its energy from 300 to 3400 Hz, over the louder half of its frames (speech, not the
pauses, whose noise floor says little). Wideband speech keeps its high band 10-30 dB under the low one; audio that
went through a narrowband codec, or was recorded at 8 kHz, keeps it 35-90 dB under.

The measure runs where the verifier's audio is at hand (its worker thread, ``Detector``, evaluation), never on
the capture path.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import rfft

from voxwatch.pipeline.samplerate import SAMPLE_RATE

TELEPHONE_BAND_DB = -30.0  # high band (4-7.8 kHz) this far or more under the low band (0.3-3.4 kHz): telephone
_FRAME = 512
_FREQS = np.fft.rfftfreq(_FRAME, 1 / SAMPLE_RATE)
_LOW = (_FREQS >= 300) & (_FREQS < 3400)
_HIGH = (_FREQS >= 4000) & (_FREQS < 7800)
_WINDOW = np.hanning(_FRAME).astype(np.float32)


def high_band_db(audio: np.ndarray) -> float:
    """Energy of 4-7.8 kHz relative to 0.3-3.4 kHz, in dB, over the louder half of the audio's frames (16 kHz
    mono); 0.0 for audio shorter than one frame or silent (judged wideband: the default thresholds hold)."""
    frames = len(audio) // _FRAME
    if frames == 0:
        return 0.0
    # scipy's float32 real FFT: faster than numpy's on float32 frames (docs/performance.md); the dB figure agrees
    # with float32 rounding wherever it is near the threshold (tests/test_hotpath_parity.py)
    spectra = np.abs(rfft(audio[: frames * _FRAME].reshape(frames, _FRAME) * _WINDOW, axis=1)) ** 2
    energy = spectra.sum(axis=1)
    power = spectra[energy >= np.median(energy)].sum(axis=0)
    low = float(power[_LOW].sum())
    if low <= 0.0:
        return 0.0
    return float(10.0 * np.log10(max(float(power[_HIGH].sum()), low * 1e-12) / low))


def in_telephone_band(audio: np.ndarray) -> bool:
    """Whether the audio sounds as through a telephone codec: nothing left above 4 kHz (``high_band_db``)."""
    return high_band_db(audio) < TELEPHONE_BAND_DB
