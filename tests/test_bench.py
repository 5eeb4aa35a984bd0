"""``voxwatch bench --short`` (the CI mode) runs end to end and reports finite numbers; values are not checked
here (timing goals belong to the benchmark itself, docs/performance.md)."""

import json
import math
import subprocess
import sys

import numpy as np
from conftest import require_tool
from helpers import build_mean_model, silence, speech_like, write_wav

from voxwatch.bench.workload import LoopSource, conversation
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.vad import VadGate, VadSettings


def _numbers(obj, path=""):
    """Every number in a JSON tree, with its path."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{path}[{i}]")


def _bench(tmp_path, *extra):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "bench", "--short", "--json", str(out), *extra],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def test_short_bench_runs_every_part_and_its_numbers_are_finite(tmp_path):
    result, stdout = _bench(tmp_path)
    bad = [(p, v) for p, v in _numbers(result) if not math.isfinite(v)]
    assert not bad
    tp = result["throughput"]
    assert tp["audio_s"] > 0 and tp["cpu_s"] > 0 and tp["rtf_per_core"] > 0 and tp["windows"] > 0
    assert tp["speech_s"] > 0  # the generated audio is taken for speech by the VAD
    assert set(tp["stage_us"]) == {"vad", "features", "inference", "decision", "publish", "other"}
    assert tp["judgements"] > 0 and tp["received"] == tp["judgements"]  # the live subscriber got every event
    assert [r["streams"] for r in result["latency"]] == [1, 2]
    for run in result["latency"]:
        assert run["realtime"] and run["latency_ms"]["events"] > 0
        assert 0 <= run["latency_ms"]["p50"] <= run["latency_ms"]["p99"] <= run["latency_ms"]["max"]
    assert result["int8"]["int8_us_per_window"] > 0 and result["int8"]["inference_speedup"] > 0
    assert result["peak_rss_mb"] > 0
    assert result["block_ms"] == 100  # real-time runs feed blocks of the capture default ([capture] block_ms)
    assert "real-time factor per CPU core" in stdout and "INT8" in stdout


def test_the_cascade_alerts_within_seconds_of_synthetic_speech_starting(tmp_path):
    """The bundled cascade on an espeak-ng monologue replayed in real time: its first alert's span ends by 5 s of
    stream time (the early checks; before, the verifier only judged whole utterances, up to 30 s). The wall-clock
    figures are reported, not checked (timing belongs to the benchmark)."""
    require_tool("espeak-ng")
    result, stdout = _bench(tmp_path, "--no-int8", "--no-latency", "--gated", "")
    alert = result["alert_latency"]
    assert alert["cascade"] and alert["stages"] == ["verifier"] and alert["alerted"] == alert["trials"] == 2
    assert alert["end_s"]["p95"] <= 5.0
    assert math.isfinite(alert["wall_s"]["p50"]) and "Alert latency" in stdout


def test_a_clone_watch_run_checks_every_utterance_against_the_enrolled_voices(tmp_path):
    result, stdout = _bench(tmp_path, "--voices", "2", "--no-int8", "--no-latency", "--no-alert-latency",
                            "--gated", "")
    voices = result["voices"]
    assert voices["voices"] == 2 and voices["with_voices"]["rtf_per_core"] > 0 and voices["without"]["rtf_per_core"] > 0
    (checks,) = voices["checks"]
    assert checks["checks"] == checks["checked"] > 0 and checks["queue_full"] == 0  # none dropped: all measured
    assert "Clone watch:" in stdout and "voices enrolled" in stdout


def test_realtime_only_with_a_given_model_and_files(tmp_path):
    model = build_mean_model(tmp_path / "mean.onnx")
    config = tmp_path / "loud.toml"
    config.write_text('[features]\nkind = "logfbank"\nnfilt = 40\nnormalize = "none"\n')
    wav = write_wav(tmp_path / "a.wav", np.concatenate([silence(0.3), speech_like(2.5), silence(0.6)]))
    result, _ = _bench(tmp_path, "--realtime", "--streams", "2", "--seconds", "3", "--model", str(model),
                       "--config", str(config), "--files", str(wav))
    assert "throughput" not in result and result["model"]["id"] == "test-mean"
    (run,) = result["latency"]
    assert run["streams"] == 2 and run["audio_s"] > 0 and math.isfinite(run["cpu_share_per_stream"])


def test_bad_arguments_are_one_line_errors():
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "bench", "--streams", "0"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("voxwatch: error:") and "Traceback" not in proc.stderr


def test_generated_conversation_has_utterances_and_pauses():
    audio = conversation(30.0, seed=3)
    assert len(audio) == 30 * 16000 and audio.dtype == np.float32
    gate = VadGate(VadSettings())
    events = gate.process(audio, 0) + gate.flush()
    assert len(events) >= 8  # several utterances, each a start and an end
    assert 0.3 < gate.speech_samples / len(audio) < 0.95


def test_loop_source_wraps_the_pool_and_delivers_exactly_its_samples():
    import threading

    pool = np.arange(1000, dtype=np.float32)
    ring = RingBuffer(5000)
    LoopSource(pool, offset=900, samples=2500, realtime=False).run(ring, threading.Event(), lambda *a: None)
    start, got = ring.read()
    assert start == 0 and len(got) == 2500
    np.testing.assert_array_equal(got, np.take(pool, np.arange(900, 3400), mode="wrap"))


class _RecordingRing(RingBuffer):
    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self.sizes: list[int] = []

    def write(self, samples):
        self.sizes.append(len(samples))
        return super().write(samples)


def test_realtime_loop_source_writes_capture_sized_blocks_on_the_clock():
    import threading
    import time

    ring = _RecordingRing(16000)
    source = LoopSource(speech_like(1.0), 0, 4800, realtime=True, block_ms=100)
    t0 = time.monotonic()
    source.run(ring, threading.Event(), lambda *a: None)
    assert ring.sizes == [1600, 1600, 1600]
    assert time.monotonic() - t0 >= 0.19  # paced: the third block is due 0.2 s after the first


def test_bench_refuses_a_bad_block_size(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "bench", "--short", "--block-ms", "-5"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--block-ms must be positive" in proc.stderr


def test_the_cascade_part_forces_the_gated_share_and_measures_the_verifier(tmp_path):
    from helpers import build_verifier_model

    model = build_mean_model(tmp_path / "mean.onnx", scale=2.0, offset=-9.5)
    verifier = build_verifier_model(tmp_path / "v.onnx")
    config = tmp_path / "loud.toml"
    config.write_text('[features]\nkind = "logfbank"\nnfilt = 40\nnormalize = "none"\n')
    result, stdout = _bench(tmp_path, "--model", str(model), "--config", str(config), "--verifier", str(verifier),
                            "--no-int8", "--gated", "0,50,100", "--latency-streams", "2")
    runs = result["cascade"]["throughput"]
    assert [r["forced_share"] for r in runs] == [0.0, 0.5, 1.0]
    shares = [r["cascade"]["gated_share"] for r in runs]
    assert shares[0] == 0.0 and 0.2 < shares[1] < 0.8 and shares[2] == 1.0
    # runs of windows over the filter's threshold are checked whatever the gate: checks grow with the gated share
    assert runs[0]["cascade"]["verified"] < runs[1]["cascade"]["verified"] < runs[2]["cascade"]["verified"]
    assert runs[2]["cascade"]["verifier_us_per_audio_s"] > 0 and runs[2]["rtf_per_core"] > 0
    latency = result["cascade"]["latency"]["cascade"]
    assert latency["queue_and_score_ms"]["p99"] is not None and latency["verdict_latency_ms"]["verdicts"] > 0
    assert "Cascade" in stdout and "verifier latency" in stdout
