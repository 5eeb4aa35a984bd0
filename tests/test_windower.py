import numpy as np
import pytest

from voxwatch.errors import ConfigError
from voxwatch.pipeline.samplerate import SAMPLE_RATE as SR
from voxwatch.pipeline.vad import SpeechEnd, SpeechStart
from voxwatch.pipeline.windower import UtteranceEnd, Windower, WindowSettings, WindowSpec, tile_to_length

SET = WindowSettings(window_s=2.0, hop_s=1.0, min_segment_s=0.5, tail_min_s=0.25)


def windows(out):
    return [(w.start, w.end, w.padded) for w in out if isinstance(w, WindowSpec)]


def test_segment_shorter_than_min_is_dropped():
    w = Windower(SET)
    out = w.update([SpeechStart(0), SpeechEnd(int(0.4 * SR))], int(0.4 * SR))
    assert windows(out) == []
    assert out[-1] == UtteranceEnd(0, 0, int(0.4 * SR), 0)


def test_short_segment_gives_one_padded_window():
    out = Windower(SET).update([SpeechStart(100), SpeechEnd(100 + SR)], 100 + SR)
    assert windows(out) == [(100, 100 + SR, True)]
    assert out[-1].windows == 1


def test_exactly_one_window():
    out = Windower(SET).update([SpeechStart(0), SpeechEnd(2 * SR)], 2 * SR)
    assert windows(out) == [(0, 2 * SR, False)]
    assert out[-1].windows == 1


def test_windows_emitted_mid_utterance_as_audio_arrives():
    w = Windower(SET)
    assert windows(w.update([SpeechStart(0)], int(1.9 * SR))) == []
    assert windows(w.update([], int(3.0 * SR))) == [(0, 2 * SR, False), (SR, 3 * SR, False)]
    assert windows(w.update([], int(3.5 * SR))) == []
    end = int(3.5 * SR)  # still in the utterance: its end gives the tail window and counts all three
    assert w.update([SpeechEnd(end)], end)[-1] == UtteranceEnd(0, 0, end, 3)


def test_end_of_segment_adds_tail_window_aligned_to_end():
    w = Windower(SET)
    end = int(3.5 * SR)
    out = w.update([SpeechStart(0), SpeechEnd(end)], end)
    assert windows(out) == [(0, 2 * SR, False), (SR, 3 * SR, False), (end - 2 * SR, end, False)]
    assert out[-1] == UtteranceEnd(0, 0, end, 3)


def test_small_tail_is_not_worth_a_window():
    end = int(3.2 * SR)
    out = Windower(SET).update([SpeechStart(0), SpeechEnd(end)], end)
    assert len(windows(out)) == 2


def test_end_of_stream_closes_with_utterance_numbers():
    w = Windower(SET)
    out = w.update([SpeechStart(0), SpeechEnd(SR), SpeechStart(2 * SR)], int(4.5 * SR))
    out += w.update([SpeechEnd(int(4.5 * SR))], int(4.5 * SR))
    ends = [o for o in out if isinstance(o, UtteranceEnd)]
    assert [e.utterance for e in ends] == [0, 1]
    assert all(o.utterance in (0, 1) for o in out)


def test_tile_padding_repeats_audio():
    assert tile_to_length(np.array([1, 2, 3]), 7).tolist() == [1, 2, 3, 1, 2, 3, 1]
    with pytest.raises(ValueError):
        tile_to_length(np.array([]), 4)


@pytest.mark.parametrize("bad", [{"hop_s": 3.0}, {"window_s": 0}, {"min_segment_s": 5.0}])
def test_bad_settings(bad):
    with pytest.raises(ConfigError):
        WindowSettings(**bad)
