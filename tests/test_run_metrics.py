"""The Prometheus endpoint: per-stream counters from the stats snapshot, latency histograms, loopback only."""

from __future__ import annotations

import time
import urllib.request

from voxwatch import __version__
from voxwatch.config import MetricsSettings
from voxwatch.daemon.metrics import MetricsServer
from voxwatch.pipeline.decision import Judgement
from voxwatch.pipeline.types import JudgementEvent


def test_metrics_endpoint_serves_per_stream_counters_and_histograms():
    stats = {"streams": {"desk": {"audio_s": 12.5, "speech_s": 4.0, "windows": 7, "utterances": 2, "alerts": 1,
                                  "dropped_s": 0.0, "overflows": 3, "device_errors": 1, "ring_fill": 0.1}},
             "queue_depth": 2, "events_published": 40, "events_dropped": 0, "evidence_saved": 3,
             "evidence_failed": 2}
    server = MetricsServer(MetricsSettings(enabled=True, port=0), lambda: stats,
                           build={"model_id": "tinycnn-x", "model_sha256": "abc123"})
    server.start()
    try:
        server.observe_batch(0.002, 4)
        j = Judgement("alert", 1, 0, 32000, 0.9, 0.5, "fake", 2)
        server(JudgementEvent("desk", j, "m", "x", time.monotonic() - 0.01))
        assert server._server.server_address[0] == "127.0.0.1"
        text = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5).read().decode()
    finally:
        server.close()
    assert 'voxwatch_audio_seconds_total{stream="desk"} 12.5' in text
    assert 'voxwatch_alerts_total{stream="desk"} 1.0' in text
    assert 'voxwatch_windows_scored_total{stream="desk"} 7.0' in text
    assert 'voxwatch_capture_overflows_total{stream="desk"} 3.0' in text
    assert 'voxwatch_dropped_audio_seconds_total{stream="desk"} 0.0' in text
    assert "voxwatch_inference_seconds_count 1.0" in text
    assert 'voxwatch_decision_latency_seconds_count{kind="alert",stage="filter",stream="desk"} 1.0' in text
    assert "voxwatch_window_queue_depth 2.0" in text
    assert "voxwatch_evidence_saved_total 3.0" in text and "voxwatch_evidence_failed_total 2.0" in text
    assert (f'voxwatch_build_info{{model_id="tinycnn-x",model_sha256="abc123",version="{__version__}"}} 1.0'
            in text)
    assert "process_resident_memory_bytes" in text and "process_cpu_seconds_total" in text
