import numpy as np
import pytest
from helpers import SR, silence, speech_like

from voxwatch.errors import ConfigError
from voxwatch.pipeline.vad import SpeechEnd, SpeechStart, VadGate, VadSettings


def run(gate: VadGate, audio: np.ndarray, block: int = 333) -> list:
    events = []
    for i in range(0, len(audio), block):
        events += gate.process(audio[i : i + block])
    return events + gate.flush()


def test_silence_and_noise_floor_give_no_speech():
    gate = VadGate(VadSettings(aggressiveness=3))
    assert run(gate, np.zeros(3 * SR, np.float32)) == []


def test_speech_segment_boundaries():
    audio = np.concatenate([np.zeros(SR, np.float32), speech_like(2.0), np.zeros(SR, np.float32)])
    events = run(VadGate(VadSettings(hangover_ms=300)), audio)
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]
    assert abs(events[0].sample - SR) <= 0.1 * SR
    assert abs(events[1].sample - 3 * SR) <= 0.15 * SR


def test_hangover_bridges_short_pause_but_not_long_one():
    def with_pause(pause_s):
        return np.concatenate([np.zeros(SR // 2, np.float32), speech_like(1.5, seed=1),
                               np.zeros(int(pause_s * SR), np.float32), speech_like(1.5, seed=2),
                               np.zeros(SR, np.float32)])

    short = run(VadGate(VadSettings(hangover_ms=400)), with_pause(0.2))
    assert [type(e) for e in short] == [SpeechStart, SpeechEnd]
    long = run(VadGate(VadSettings(hangover_ms=400)), with_pause(1.0))
    assert [type(e) for e in long] == [SpeechStart, SpeechEnd, SpeechStart, SpeechEnd]


def test_block_size_does_not_change_result():
    audio = np.concatenate([silence(0.7), speech_like(2.3), silence(0.8)])
    a = run(VadGate(VadSettings()), audio, block=160)
    b = run(VadGate(VadSettings()), audio, block=4801)
    assert a == b and a


def test_max_utterance_splits_long_speech():
    events = run(VadGate(VadSettings(max_utterance_s=1.0, hangover_ms=300)), speech_like(3.5))
    starts = [e for e in events if isinstance(e, SpeechStart)]
    assert len(starts) >= 3
    for end, start in zip(events[1::2], events[2::2], strict=False):
        assert end.sample == start.sample  # split without losing audio


def test_gap_in_input_closes_open_utterance():
    gate = VadGate(VadSettings())
    events = gate.process(speech_like(1.0), start_sample=0)
    assert isinstance(events[-1], SpeechStart)
    events = gate.process(speech_like(1.0), start_sample=5 * SR)  # 4 s lost in between
    assert isinstance(events[0], SpeechEnd) and events[0].sample <= SR


def test_speech_seconds_counted():
    gate = VadGate(VadSettings())
    run(gate, np.concatenate([silence(1.0), speech_like(2.0), silence(1.0)]))
    assert 1.7 * SR <= gate.speech_samples <= 2.2 * SR


@pytest.mark.parametrize("bad", [{"frame_ms": 25}, {"aggressiveness": 4}, {"hangover_ms": -1}])
def test_bad_settings(bad):
    with pytest.raises(ConfigError):
        VadSettings(**bad)
