"""The incremental feature path (frames computed once per stream, windows sliced from cached rows) gives the same
window features as computing each window from scratch with ``features(audio[start:end])``.

Covered: windows that span the blocks audio arrived in (blocks of odd sizes), overlapping windows that share rows,
windows not starting on a frame boundary, padded (short) windows, gaps in the stream (short ones filled with zeros,
long ones that restart the history), pre-emphasis, every normalisation, MFCC, and the windows the real
VAD -> Windower chain produces.
"""

import numpy as np
import pytest
from helpers import silence, speech_like

from voxwatch.pipeline.framecache import StreamFeatureBuffer
from voxwatch.pipeline.samplerate import SAMPLE_RATE as SR
from voxwatch.pipeline.stages.filter.features import FeatureSettings, features
from voxwatch.pipeline.vad import VadGate, VadSettings
from voxwatch.pipeline.windower import Windower, WindowSettings, WindowSpec, tile_to_length

WIN = 2 * SR
TOL = {"rtol": 1e-5, "atol": 1e-5}


def _stream(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = speech_like(seconds, level=0.3, seed=seed)
    return (x + rng.standard_normal(len(x)).astype(np.float32) * 0.01).astype(np.float32)


def _feed(buf: StreamFeatureBuffer, audio: np.ndarray, sizes: list[int], start: int = 0):
    """Append ``audio`` (first sample at absolute index ``start``) in blocks of the given sizes, cycling."""
    pos, i = 0, 0
    while pos < len(audio):
        n = sizes[i % len(sizes)]
        buf.append(start + pos, audio[pos : pos + n])
        pos += n
        i += 1
        yield start + pos  # absolute end of the audio appended so far


@pytest.mark.parametrize("settings", [
    FeatureSettings(),
    FeatureSettings(normalize="cmvn"),
    FeatureSettings(normalize="none"),
    FeatureSettings(kind="mfcc", numcep=13, nfilt=26),
], ids=["card", "cmvn", "none", "mfcc"])
def test_overlapping_windows_across_blocks_equal_scratch(settings):
    audio = _stream(9.0)
    buf = StreamFeatureBuffer(settings, WIN, history_samples=3 * WIN)
    starts = list(range(0, len(audio) - WIN + 1, SR // 2))  # hop 0.5 s: every frame in up to 4 windows
    pending = list(starts)
    checked = 0
    for end in _feed(buf, audio, [317, 8000, 1601, 160, 4999]):  # sizes that cut frames and windows anywhere
        while pending and pending[0] + WIN <= end:
            s = pending.pop(0)
            got = buf.window(WindowSpec(0, s, s + WIN))
            want = features(audio[s : s + WIN], settings)
            assert got.shape == want.shape == (settings.n_frames(WIN), settings.n_features)
            np.testing.assert_allclose(got, want, **TOL)
            checked += 1
    assert checked == len(starts)
    # rows were shared: far fewer frames computed than the windows hold in total
    assert buf.frames_computed <= settings.n_frames(len(audio)) + 2
    assert buf.frames_computed < 0.5 * checked * settings.n_frames(WIN)


def test_unaligned_window_starts_equal_scratch():
    s = FeatureSettings()
    audio = _stream(6.0, seed=1)
    buf = StreamFeatureBuffer(s, WIN, history_samples=3 * WIN)
    list(_feed(buf, audio, [1000]))
    for start in (1, 77, 159, 161, 1000, 2 * SR + 3):
        np.testing.assert_allclose(buf.window(WindowSpec(0, start, start + WIN)),
                                   features(audio[start : start + WIN], s), **TOL)
    # an aligned window after unaligned ones still uses (and agrees with) the cache
    np.testing.assert_allclose(buf.window(WindowSpec(0, 3200, 3200 + WIN)), features(audio[3200 : 3200 + WIN], s),
                               **TOL)


def test_padded_windows_equal_scratch_of_the_tiled_segment():
    s = FeatureSettings()
    audio = _stream(4.0, seed=2)
    buf = StreamFeatureBuffer(s, WIN, history_samples=3 * WIN)
    list(_feed(buf, audio, [2400]))
    for start, end in ((480, 480 + 8000), (1000, 1000 + 20000), (SR, SR + WIN - 160)):
        spec = WindowSpec(0, start, end, padded=True)
        want = features(tile_to_length(audio[start:end], WIN), s)
        got = buf.window(spec)
        assert got.shape == (s.n_frames(WIN), s.n_features)
        np.testing.assert_allclose(got, want, **TOL)


def test_short_gap_is_zero_filled_and_windows_across_it_equal_scratch():
    s = FeatureSettings()
    a, b = _stream(3.0, seed=3), _stream(3.0, seed=4)
    gap = 5000  # lost audio between two blocks (e.g. ring overflow)
    buf = StreamFeatureBuffer(s, WIN, history_samples=4 * WIN)
    list(_feed(buf, a, [1600]))
    list(_feed(buf, b, [1600], start=len(a) + gap))
    full = np.concatenate([a, np.zeros(gap, np.float32), b])
    for start in (0, 16000, 32000, 40000, len(full) - WIN):  # before, across and after the gap
        start -= start % 160
        want = features(full[start : start + WIN], s)
        np.testing.assert_allclose(buf.window(WindowSpec(0, start, start + WIN)), want, **TOL)


def test_long_gap_restarts_history_without_stale_rows():
    s = FeatureSettings()
    history = 3 * WIN
    buf = StreamFeatureBuffer(s, WIN, history_samples=history)
    a = _stream(5.0, seed=5)
    list(_feed(buf, a, [4000]))
    buf.window(WindowSpec(0, 0, WIN))  # fill the row cache with the first stream part
    restart = len(a) + history + 12345 * 160  # beyond the history: audio before it is forgotten
    b = _stream(5.0, seed=6)
    list(_feed(buf, b, [4000], start=restart))
    for offset in (0, SR, 3 * SR):
        start = restart + offset
        np.testing.assert_allclose(buf.window(WindowSpec(1, start, start + WIN)),
                                   features(b[offset : offset + WIN], s), **TOL)
    with pytest.raises(IndexError):
        buf.window(WindowSpec(0, 0, WIN))  # gone, not silently served from stale rows


def test_row_slots_are_reused_over_a_long_stream():
    """The cache ring wraps many times; a stale row in a reused slot must never be returned."""
    s = FeatureSettings()
    audio = _stream(40.0, seed=8)
    buf = StreamFeatureBuffer(s, WIN, history_samples=WIN + 2 * SR)
    pending = list(range(0, len(audio) - WIN + 1, SR))
    for end in _feed(buf, audio, [8000]):
        while pending and pending[0] + WIN <= end:
            start = pending.pop(0)
            np.testing.assert_allclose(buf.window(WindowSpec(0, start, start + WIN)),
                                       features(audio[start : start + WIN], s), **TOL)
    assert not pending


def test_preemphasis_falls_back_to_scratch():
    s = FeatureSettings(preemph=0.97)
    audio = _stream(5.0, seed=9)
    buf = StreamFeatureBuffer(s, WIN, history_samples=3 * WIN)
    list(_feed(buf, audio, [3000]))
    for start in (0, SR, 2 * SR):
        np.testing.assert_allclose(buf.window(WindowSpec(0, start, start + WIN)),
                                   features(audio[start : start + WIN], s), **TOL)


def test_windows_of_the_real_vad_and_windower_equal_scratch():
    """The chain the front worker runs: blocks -> VadGate -> Windower -> buffer.window, incl. tail and padded
    windows, against features of the same spans computed from the whole signal."""
    s = FeatureSettings()
    parts = [silence(0.7), _stream(4.3, seed=10), silence(0.9), _stream(1.2, seed=11), silence(0.8),
             _stream(3.05, seed=12), silence(1.0)]
    audio = np.concatenate(parts).astype(np.float32)
    vad, windower = VadGate(VadSettings()), Windower(WindowSettings())
    buf = StreamFeatureBuffer(s, WIN, history_samples=2 * WIN + 2 * SR + 6400)
    specs = []
    block = 7000
    for pos in range(0, len(audio), block):
        chunk = audio[pos : pos + block]
        events = vad.process(chunk, pos)
        buf.append(pos, chunk)
        for item in windower.update(events, pos + len(chunk)):
            if isinstance(item, WindowSpec):
                want = features(tile_to_length(audio[item.start : item.end], WIN) if item.padded
                                else audio[item.start : item.end], s)
                np.testing.assert_allclose(buf.window(item), want, **TOL)
                specs.append(item)
    for item in windower.update(vad.flush(), len(audio)):
        if isinstance(item, WindowSpec):
            specs.append(item)
    kinds = {("padded" if w.padded else "full") for w in specs}
    assert kinds == {"padded", "full"}, specs  # the scenario exercised both kinds
    assert len({w.utterance for w in specs}) == 3
