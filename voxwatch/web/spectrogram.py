"""A small log-power spectrogram for the pages, as JSON: the browser draws it on a canvas.

Why here and not in the browser: the Evidence page shows clips the browser has not decoded, and one numpy pass
is cheap. Why small: the page needs an overview, not analysis, so the hop grows with the recording to keep at most
``max_columns`` columns, and the 257 FFT bins are averaged down to ``rows`` rows. Values are 0..255 over the
``range_db`` below the loudest cell, base64 of a row-major uint8 array (row 0 the lowest frequencies).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from voxwatch.pipeline.samplerate import SAMPLE_RATE

FFT_SIZE = 512
MIN_HOP = 160  # 10 ms at 16 kHz


def spectrogram_json(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, max_columns: int = 800, rows: int = 128,
                     range_db: float = 80.0) -> dict[str, Any]:
    """``{"rows", "columns", "hop_s", "window_s", "max_hz", "range_db", "data"}`` for mono float ``audio``."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < FFT_SIZE:
        audio = np.pad(audio, (0, FFT_SIZE - len(audio)))
    hop = max(MIN_HOP, -(-(len(audio) - FFT_SIZE) // max(1, max_columns - 1)))
    frames = np.lib.stride_tricks.sliding_window_view(audio, FFT_SIZE)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(FFT_SIZE).astype(np.float32), axis=1)) ** 2  # (columns, bins)
    bins = power.shape[1] - 1  # drop the Nyquist bin so the rest divides evenly
    rows = min(rows, bins)
    pooled = power[:, : bins - bins % rows].reshape(len(frames), rows, -1).mean(axis=2)
    db = 10.0 * np.log10(pooled + 1e-12)
    scaled = np.clip((db - (db.max() - range_db)) / range_db, 0.0, 1.0)
    data = np.round(scaled.T * 255).astype(np.uint8)  # (rows, columns)
    return {"rows": int(data.shape[0]), "columns": int(data.shape[1]), "hop_s": hop / sample_rate,
            "window_s": FFT_SIZE / sample_rate, "max_hz": sample_rate / 2, "range_db": range_db,
            "data": base64.b64encode(np.ascontiguousarray(data).tobytes()).decode("ascii")}
