"""Monitor: the pure state model (grouping by daemon, scores, alerts, seq gaps, stale heartbeats) and the Rich
view rendered to a recording console against live daemons (two real-time replays, one killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from daemon_helpers import free_port, voxwatch, write_config
from helpers import LOUDNESS_TOML
from rich.console import Console

from voxwatch.monitor.collect import monitor_once, pump
from voxwatch.monitor.state import MonitorState, sparkline
from voxwatch.monitor.view import render
from voxwatch.transport.subscriber import EventSubscriber


def body(kind, daemon="d1", seq=0, stream=None, pid=100, **fields):
    return {"schema": 1, "type": kind, "daemon": {"id": daemon, "host": f"{daemon}-host", "pid": pid},
            "stream": stream, "seq": seq, "ts": 1_800_000_000.0 + seq, **fields}


def status(daemon="d1", seq=0, streams=None, heartbeat_s=1.0, state="running", **counters):
    return body("status", daemon, seq, state=state, heartbeat_s=heartbeat_s,
                counters={"audio_s": 10.0, "dropped_s": 0.0, "inference_ms_p50": 0.5, "inference_ms_p99": 2.0,
                          **counters}, streams=streams or {})


def judged(kind, daemon, seq, stream, score, verdict, utterance=1):
    return body(kind, daemon, seq, stream, utterance=utterance, start_s=1.0, end_s=3.0, score=score,
                threshold=0.5, verdict=verdict, windows=2, early=False, model={"id": "m", "sha256": "x"},
                latency_ms=3.0)


def text_of(renderable, width=170) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_state_groups_streams_by_daemon_and_tracks_scores_alerts_and_gaps():
    state = MonitorState()
    state.apply("voxwatch.status", status("b", 0, {"mic2": {"state": "silence"}}), now=0.0)
    state.apply("voxwatch.status", status("a", 0, {"mic1": {"state": "speech"}, "mic0": {"state": "silence"}}),
                now=0.0)
    for i, score in enumerate([0.1, 0.9, 0.95]):
        verdict = "fake" if score > 0.5 else "real"
        state.apply("voxwatch.verdict.mic1", judged("verdict", "a", 1 + i, "mic1", score, verdict, i + 1), now=0.1)
    state.apply("voxwatch.alert.mic1", judged("alert", "a", 4, "mic1", 0.95, "fake", 3), now=0.2)
    state.apply("voxwatch.verdict.mic2", judged("verdict", "b", 5, "mic2", 0.2, "real"), now=0.2)  # 4 lost
    grouped = state.grouped()
    assert [(d.id, [r.stream for r in rows]) for d, rows in grouped] == [("a", ["mic0", "mic1"]), ("b", ["mic2"])]
    mic1 = state.streams[("a", "mic1")]
    assert mic1.last_score == 0.95 and mic1.last_verdict == "fake" and mic1.alerts == 1 and mic1.verdicts == 3
    assert mic1.state == "speech" and list(mic1.scores) == [0.1, 0.9, 0.95]
    assert state.gaps() == {"b": 4}
    assert [a.stream for a in state.alerts] == ["mic1"]


def test_stale_heartbeat_detection_uses_the_daemons_own_period():
    state = MonitorState(stale_factor=3.0)
    state.apply("voxwatch.status", status("fast", 0, heartbeat_s=0.5), now=0.0)
    state.apply("voxwatch.status", status("slow", 0, heartbeat_s=5.0), now=0.0)
    assert state.stale(1.0) == []
    assert [(d.id, round(age, 1)) for d, age in state.stale(2.0)] == [("fast", 2.0)]
    state.apply("voxwatch.status", status("fast", 1, heartbeat_s=0.5, state="stopping"), now=2.0)
    assert state.stale(10.0) == []
    assert [d.id for d, _ in state.stale(20.0)] == ["slow"]  # a daemon that said goodbye is not stale
    assert [d.id for d, _ in MonitorState(stale_s=1.0).stale(0.0)] == []


def test_stream_errors_show_until_recovery_and_restarts_are_not_loss():
    state = MonitorState()
    state.apply("voxwatch.status", status("a", 10, {"mic": {"state": "silence", "capture_state": "capturing"}}),
                now=0)
    state.apply("voxwatch.stream.mic", body("stream", "a", 11, "mic", state="error", detail="mic:USB gone"), now=1)
    state.apply("voxwatch.status", status("a", 12, {"mic": {"state": "silence", "capture_state": "error"}}), now=2)
    assert state.streams[("a", "mic")].state == "error"
    assert "USB gone" in text_of(render(state, 2.0))
    state.apply("voxwatch.stream.mic", body("stream", "a", 13, "mic", state="recovered"), now=3)
    state.apply("voxwatch.status", status("a", 14, {"mic": {"state": "speech", "capture_state": "capturing"}}), now=4)
    assert state.streams[("a", "mic")].state == "speech"
    state.apply("voxwatch.status", status("a", 0, pid=200), now=5)  # restarted daemon: seq back to 0
    assert state.gaps() == {}


def test_sparkline_maps_scores_to_blocks():
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert len(sparkline([0.3] * 40, width=12)) == 12


def test_view_renders_rows_alerts_health_and_warnings():
    state = MonitorState(stale_s=2.0)
    state.apply("voxwatch.status", status("desk-1", 0, {"call-7": {"state": "speech", "alerts": 0}}), now=0.0)
    state.apply("voxwatch.alert.call-7", judged("alert", "desk-1", 1, "call-7", 0.93, "fake"), now=0.5)
    state.apply("voxwatch.verdict.call-7", judged("verdict", "desk-1", 3, "call-7", 0.93, "fake"), now=0.6)
    out = text_of(render(state, 1.0))
    assert "desk-1" in out and "call-7" in out and "speech" in out and "0.93" in out
    assert "alerts (newest first)" in out and "1.0-3.0" in out
    assert "1 event(s) lost" in out and "no heartbeat" not in out
    assert "no heartbeat from desk-1 for 5 s" in text_of(render(state, 5.0))
    assert "waiting for events from tcp://x:1" in text_of(render(MonitorState(), 0.0, ["tcp://x:1"]))


def test_monitor_against_live_daemons(tmp_path, loud_model, audio_files):
    """Two real-time replay daemons; the monitor shows both groups, the alert, then one daemon's stale heartbeat."""
    urls, procs = [], []
    for name in ("alpha", "beta"):
        url = f"tcp://127.0.0.1:{free_port()}"
        config = write_config(tmp_path / f"{name}.toml", f'{LOUDNESS_TOML}[publish]\n'
                                                         f'daemon_id = "{name}"\nheartbeat_s = 0.3\n')
        procs.append(voxwatch("replay", str(audio_files["two"]), "--realtime", "--model", str(loud_model),
                              "--config", str(config), "--publish", url, "--wait-subscribers", "10"))
        urls.append(url)
    subscriber = EventSubscriber(urls)
    state = MonitorState(stale_s=1.0)
    try:
        deadline = time.monotonic() + 20
        while not state.alerts and time.monotonic() < deadline:
            pump(subscriber, state, 0.2)
        console = Console(record=True, width=170, color_system=None)
        monitor_once(urls, console, collect_s=0.3, subscriber=subscriber, state=state)
        out = console.export_text()
        assert "alpha" in out and "beta" in out and "two" in out
        assert out.index("alpha") < out.index("beta")  # grouped by daemon, in order
        assert "fake" in out and "no alerts yet" not in out
        assert "no heartbeat" not in out
        # `voxwatch monitor --once` as a command, against the same live daemon
        once = subprocess.run([sys.executable, "-m", "voxwatch", "monitor", "--once", "--for", "1.0", "--connect",
                               urls[0]], capture_output=True, text=True, timeout=30, env={"COLUMNS": "170",
                               **__import__("os").environ})
        assert once.returncode == 0 and "alpha" in once.stdout and "streams" in once.stdout
        procs[1].send_signal(signal.SIGKILL)  # beta goes silent without a goodbye
        console = Console(record=True, width=170, color_system=None)
        monitor_once(urls, console, collect_s=1.6, subscriber=subscriber, state=state)
        out = console.export_text()
        assert "no heartbeat from beta" in out and "no heartbeat from alpha" not in out
    finally:
        subscriber.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


def _interruptible() -> None:
    """In the child: Ctrl-C as in a terminal. A test run started in the background (``cmd &`` in a script)
    ignores SIGINT, and a child inherits that, so it would never see the Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _live_monitor_in_a_terminal():
    import os
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "voxwatch", "monitor", "--connect",
                             f"tcp://127.0.0.1:{free_port()}"], stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True, preexec_fn=_interruptible)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 20
    while b"waiting for events" not in output and time.monotonic() < deadline:
        import select

        if select.select([master], [], [], 0.2)[0]:
            try:
                output += os.read(master, 65536)
            except OSError:
                break
    assert b"waiting for events" in output, output[-500:]
    return proc, master


def _exit_code_reading(proc, master, timeout: float = 10.0):
    """Wait for ``proc`` while reading its terminal, as a terminal does (a dashboard writing into a pty that
    nobody reads can block on a full buffer)."""
    import os
    import select

    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                os.read(master, 65536)
            except OSError:
                break
    return proc.wait(timeout=max(0.1, deadline - time.monotonic()))


def test_live_monitor_quits_on_q_and_on_ctrl_c():
    import os

    proc, master = _live_monitor_in_a_terminal()
    try:
        os.write(master, b"q")
        assert _exit_code_reading(proc, master) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    proc, master = _live_monitor_in_a_terminal()
    try:
        proc.send_signal(signal.SIGINT)
        assert _exit_code_reading(proc, master) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_uncertain_and_verifier_verdicts_show_with_their_stage():
    state = MonitorState()
    state.apply("voxwatch.status", status("d", 0, {"mic": {"state": "speech"}}, verifier_verified=4,
                                          verifier_queue_full=1), now=0.0)
    state.apply("voxwatch.verdict.mic", judged("verdict", "d", 1, "mic", 0.52, "uncertain") | {"stage": "verifier"},
                now=0.1)
    state.apply("voxwatch.alert.mic", judged("alert", "d", 2, "mic", 0.97, "fake", 2) | {"stage": "verifier"},
                now=0.2)
    row = state.streams[("d", "mic")]
    assert row.last_verdict == "uncertain" and row.last_stage == "verifier" and row.uncertain == 1
    assert [(a.stage, a.verdict) for a in state.alerts] == [("verifier", "fake")]
    out = text_of(render(state, 0.5), width=200)
    assert "uncertain (verifier)" in out and "4 (1 full)" in out


NARROW_HEADERS = ("stream", "state", "score", "verdict", "alerts", "dropped s", "daemon", "heartbeat", "audio s",
                  "queue", "p99 ms", "lost", "time", "span s", "early", "latency ms")


def test_the_dashboard_reads_whole_at_80_columns():
    state = MonitorState()
    state.apply("voxwatch.status", status("desk-1", 0, {"call-7": {"state": "speech"}}), now=0.0)
    state.apply("voxwatch.alert.call-7", judged("alert", "desk-1", 1, "call-7", 0.93, "fake"), now=0.5)
    state.apply("voxwatch.verdict.call-7", {**judged("verdict", "desk-1", 2, "call-7", 0.39, "real"),
                                            "early_alert": True}, now=0.6)
    out = text_of(render(state, 1.0), width=80)
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    headers = " ".join(line for line in out.splitlines() if line.lstrip().startswith(("stream ", "daemon ", "time ")))
    assert all(header in headers for header in NARROW_HEADERS), headers
    assert "desk-1/call-7" in out and "real (early alert)" in out and "0.93" in out and "running" in out
    wide = text_of(render(state, 1.0), width=170)
    assert "overflows" in wide and "host" in wide  # the wide layout keeps every column


def test_monitor_once_piped_is_the_narrow_layout():
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "voxwatch", "monitor", "--once", "--for", "0.2", "--connect",
                           f"tcp://127.0.0.1:{port}"], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "COLUMNS"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in done.stdout
    assert f"waiting for events from tcp://127.0.0.1:{port}" in done.stdout
    assert any(line.split() == ["stream", "state", "score", "verdict", "alerts", "dropped", "s"] for line in lines)


# --- what a trial found (issue 34): the newest alerts at 80x24, headers at 120, gone things forgotten, --once ---

def crowded_state(streams: int = 12, alerts: int = 15, host: str = "desk-1-host") -> MonitorState:
    """One daemon with many streams and more alerts than the log shows; the alerts' ``ts`` rise by a second."""
    state = MonitorState()
    state.apply("voxwatch.status", body("status", "desk-1", 0, state="running", heartbeat_s=1.0,
                                        counters={"audio_s": 10.0, "inference_ms_p99": 2.0},
                                        streams={f"call-{i:02d}": {"state": "speech"} for i in range(streams)})
                | {"daemon": {"id": "desk-1", "host": host, "pid": 100}}, now=0.0)
    for i in range(alerts):
        state.apply("voxwatch.alert.call-03", judged("alert", "desk-1", 1 + i, "call-03", 0.90 + i / 1000, "fake"),
                    now=0.5)
    return state


def alert_scores(out: str) -> list[str]:
    """The alert log's scores, top to bottom (each row reads ``HH:MM:SS ... desk-1/call-03 0.9xx``)."""
    import re

    return re.findall(r"call-03\s+(0\.9\d)", out)


def test_the_live_dashboard_fits_80x24_with_the_newest_alerts_and_the_health_table():
    """A terminal cuts what does not fit at the bottom: at 80x24 the dashboard is at most 24 lines, the newest
    alert is on top of the log (the oldest give way), and the health table is still there."""
    state = crowded_state()
    out = text_of(render(state, 1.0, alert_lines=8, max_height=24), width=80)
    lines = out.splitlines()
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    assert "health" in out and any(line.split()[:2] == ["desk-1", "running"] for line in lines)  # its daemon row
    scores = alert_scores(out)
    assert scores and scores[0] == "0.91" and scores == sorted(scores, reverse=True)  # 0.914: the newest, first
    assert "more stream(s)" in out  # the streams that gave way are counted, not silently lost
    whole = text_of(render(state, 1.0, alert_lines=8), width=80)  # --once: no height to fit, all 8 alerts
    assert len(alert_scores(whole)) == 8 and "more stream(s)" not in whole


def test_every_header_is_whole_at_120_columns_even_with_long_names():
    state = crowded_state(streams=2, alerts=2, host="voxwatch-front-desk-42.example.org")
    state.apply("voxwatch.alert.call-03", judged("alert", "desk-1", 40, "call-03", 0.97, "fake")
                | {"why": "verifier 0.97 >= 0.90 on 1.0-3.0 s; filter 1.00"}, now=0.6)
    for width in (120, 80):
        out = text_of(render(state, 1.0), width=width)
        assert max(len(line) for line in out.splitlines()) <= width
        headers = [line for line in out.splitlines() if "┃" in line or line.lstrip().startswith(("stream ", "daemon ",
                                                                                                   "time "))]
        assert headers and not any("…" in line for line in headers), headers
    wide = text_of(render(state, 1.0), width=120)
    for header in ("overflows", "host", "heartbeat", "dropped s", "p50 ms", "verified", "lost", "latency ms",
                   "stage", "why"):
        assert header in wide
    assert "verifier 0.97 >= 0.90" in wide  # the alert's reason, in the log


def test_the_alert_log_shows_why_at_80_columns_too():
    state = crowded_state(streams=1, alerts=1)
    state.apply("voxwatch.alert.call-03", judged("alert", "desk-1", 40, "call-03", 0.97, "fake")
                | {"why": "verifier 0.97 >= 0.90"}, now=0.6)
    out = text_of(render(state, 1.0), width=80)
    assert "verifier 0.97 >= 0.90" in out and max(len(line) for line in out.splitlines()) <= 80
    assert state.alerts[-1].why == "verifier 0.97 >= 0.90"


def test_ended_streams_and_silent_daemons_are_forgotten_after_a_while():
    state = MonitorState(forget_ended_s=60.0, forget_silent_s=300.0)
    state.apply("voxwatch.status", status("a", 0, {"mic": {"state": "speech"}, "file": {"state": "speech"}}), now=0.0)
    state.apply("voxwatch.status", status("b", 0, {"mic": {"state": "speech"}}), now=0.0)
    state.apply("voxwatch.stream.file", body("stream", "a", 1, "file", state="ended"), now=10.0)
    state.apply("voxwatch.alert.mic", judged("alert", "b", 1, "mic", 0.9, "fake"), now=10.0)
    state.apply("voxwatch.verdict.mic", judged("verdict", "b", 3, "mic", 0.9, "fake"), now=10.0)  # b lost one
    for seq, t in enumerate((20.0, 60.0, 100.0, 200.0, 300.0), start=2):  # a beats on, its ended stream listed
        state.apply("voxwatch.status", status("a", seq, {"mic": {"state": "speech"}, "file": {"state": "ended"}}),
                    now=t)
        state.prune(t)
        if t <= 60.0:
            assert ("a", "file") in state.streams  # ended at 10 s: kept for a minute
    assert ("a", "file") not in state.streams and ("a", "mic") in state.streams
    assert "b" in state.daemons and state.gaps() == {"b": 1}  # silent since 10 s: stale, still shown
    state.prune(310.0)
    assert "b" not in state.daemons and ("b", "mic") not in state.streams and state.gaps() == {}
    assert [a.daemon for a in state.alerts] == ["b"]  # the alert log keeps its history
    state.apply("voxwatch.status", status("a", 7, state="stopping"), now=400.0)
    state.prune(459.0)
    assert "a" in state.daemons
    state.prune(460.0)  # said goodbye a minute ago
    assert state.daemons == {} and state.streams == {}


def test_only_the_live_dashboard_says_how_to_quit():
    state = crowded_state(streams=1, alerts=0)
    assert "q or Ctrl-C quits" in text_of(render(state, 1.0))
    assert "q or Ctrl-C quits" not in text_of(render(state, 1.0, live=False))
    done = subprocess.run([sys.executable, "-m", "voxwatch", "monitor", "--once", "--for", "0.2", "--connect",
                           f"tcp://127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "malformed skipped" in done.stdout and "quits" not in done.stdout
