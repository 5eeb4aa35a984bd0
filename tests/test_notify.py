"""``voxwatch notify`` and its receivers: webhooks (200, 500, 403, refused, hanging), commands, desktop.

The receivers run against a local HTTP server on 127.0.0.1 (``notify_helpers.Receiver``); the command end to end
test feeds real events through an ``EventPublisher`` to a ``voxwatch notify`` subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from notify_helpers import Receiver, closed_port_url

from voxwatch.config import PublishSettings
from voxwatch.errors import ConfigError
from voxwatch.notify.command_sink import CommandSink, DesktopSink, describe
from voxwatch.notify.delivery import Delivery, DeliverySettings
from voxwatch.notify.webhook import WebhookSink, parse_header
from voxwatch.pipeline.decision import Judgement
from voxwatch.pipeline.types import JudgementEvent
from voxwatch.transport.publisher import EventPublisher

FAST = DeliverySettings(queue_size=10, retries=2, backoff_initial_s=0.05, backoff_max_s=0.2)


def alert(n: int = 0) -> dict:
    return {"schema": 1, "type": "alert", "daemon": {"id": "desk-1", "host": "h", "pid": 1}, "stream": "system-audio",
            "seq": n, "ts": 1.0, "utterance": n, "start_s": 1.0, "end_s": 3.0, "score": 0.93, "threshold": 0.5,
            "verdict": "fake", "windows": 2, "early": True, "model": {"id": "m", "sha256": "s"}, "latency_ms": 1.0}


def body(event: dict) -> bytes:
    return json.dumps(event).encode()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def delivery(sink, settings=FAST) -> Delivery:
    d = Delivery(sink, settings)
    d.start()
    return d


def settle(d: Delivery, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while d.counters().waiting:  # nothing queued and nothing being sent
        assert time.monotonic() < deadline, "delivery did not settle"
        time.sleep(0.01)


def test_webhook_posts_the_event_json_with_headers(receiver):
    sink = WebhookSink(receiver.url("/ok"), dict([parse_header("Authorization: Bearer s3cret")]), timeout_s=2)
    d = delivery(sink)
    d.offer(alert(7), body(alert(7)))
    got = receiver.wait_for("/ok", 1)
    settle(d)
    assert got == [alert(7)]
    _, headers, _ = receiver.requests[0]
    assert headers["Authorization"] == "Bearer s3cret" and headers["Content-Type"] == "application/json"
    c = d.counters()
    assert (c.accepted, c.delivered, c.failed, c.retries, c.dropped, c.waiting) == (1, 1, 0, 0, 0, 0)
    d.close(1)


def send_one(receiver: Receiver, path: str, attempts: int) -> Delivery:
    """One alert to ``receiver``'s ``path``; returns once ``attempts`` requests arrived and the delivery is idle."""
    d = delivery(WebhookSink(receiver.url(path), timeout_s=2))
    d.offer(alert(), body(alert()))
    receiver.wait_for(path, attempts)
    settle(d)
    return d


def test_webhook_500_is_retried_with_growing_backoff_then_counted_as_failed(receiver):
    d = send_one(receiver, "/fail", 3)
    c = d.counters()
    assert (c.delivered, c.failed, c.retries) == (0, 1, 2) and "HTTP 500" in c.last_error
    gaps = [b - a for a, b in zip(receiver.times, receiver.times[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # 0.05 s, then doubled
    time.sleep(0.3)
    assert len(receiver.to("/fail")) == 3  # retries + 1 attempts, no more
    d.close(1)


def test_giving_up_is_logged_in_plain_english(receiver, caplog):
    with caplog.at_level("WARNING", logger="voxwatch.notify.delivery"):
        send_one(receiver, "/forbidden", 1).close(1)
    line = next(r.getMessage() for r in caplog.records if "gave up" in r.getMessage())
    assert " a alert" not in line and "gave up on an event (alert of stream system-audio): HTTP 403" in line


def test_webhook_4xx_is_not_retried(receiver):
    d = send_one(receiver, "/forbidden", 1)
    assert (d.counters().failed, d.counters().retries) == (1, 0)
    assert "HTTP 403" in d.counters().last_error


def test_refused_connection_is_counted_and_later_events_still_go(receiver):
    refused = delivery(WebhookSink(closed_port_url(), timeout_s=2))
    ok = delivery(WebhookSink(receiver.url("/ok"), timeout_s=2))
    for n in range(3):
        for d in (refused, ok):
            d.offer(alert(n), body(alert(n)))
    settle(refused)
    settle(ok)
    assert (refused.counters().failed, refused.counters().retries) == (3, 6)
    assert "cannot reach" in refused.counters().last_error
    assert [e["seq"] for e in receiver.to("/ok")] == [0, 1, 2]  # the dead receiver held nobody up


def test_hanging_receiver_times_out_and_a_full_queue_drops_the_oldest(receiver):
    settings = DeliverySettings(queue_size=2, retries=0, backoff_initial_s=0.05)
    d = delivery(WebhookSink(receiver.url("/hang"), timeout_s=0.3), settings)
    t0 = time.monotonic()
    d.offer(alert(0), body(alert(0)))
    receiver.wait_for("/hang", 1)  # event 0 is in flight, stuck in the receiver
    for n in range(1, 5):
        d.offer(alert(n), body(alert(n)))  # never blocks
    assert time.monotonic() - t0 < 0.3
    assert d.counters().dropped == 2  # events 1 and 2 made room for 3 and 4
    receiver.wait_for("/hang", 3)
    settle(d)
    assert [e["seq"] for e in receiver.to("/hang")] == [0, 3, 4]
    c = d.counters()
    assert (c.accepted, c.failed, c.dropped, c.delivered) == (5, 3, 2, 0) and "0.3 s" in c.last_error
    assert time.monotonic() - t0 < 2.5  # three timeouts of 0.3 s, not three hangs of 3 s


def test_gated_receiver_gets_the_newest_events_once_it_answers(receiver):
    settings = DeliverySettings(queue_size=3, retries=0)
    d = delivery(WebhookSink(receiver.url("/gate"), timeout_s=5), settings)
    d.offer(alert(0), body(alert(0)))
    receiver.wait_for("/gate", 1)
    for n in range(1, 10):
        d.offer(alert(n), body(alert(n)))
    receiver.gate.set()
    receiver.wait_for("/gate", 4)
    settle(d)
    assert [e["seq"] for e in receiver.to("/gate")] == [0, 7, 8, 9]
    assert (d.counters().delivered, d.counters().dropped) == (4, 6)


def test_exec_gets_the_event_on_stdin_and_never_runs_a_shell(tmp_path):
    out = tmp_path / "events.jsonl"
    script = tmp_path / "save.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n")
    trap = tmp_path / "pwned"
    d = delivery(CommandSink(f"{sys.executable} {script} {out} ; touch {trap}", timeout_s=10))
    d.offer(alert(3), body(alert(3)))
    settle(d)
    assert d.counters().delivered == 1
    assert json.loads(out.read_text()) == alert(3)
    assert not trap.exists()  # ";" and "touch" reached the script as arguments, not a shell


def test_exec_failure_and_timeout_are_counted(tmp_path):
    failing = delivery(CommandSink(f"{sys.executable} -c 'import sys; sys.exit(\"no route\")'", timeout_s=5))
    slow = delivery(CommandSink(f"{sys.executable} -c 'import time; time.sleep(5)'", timeout_s=0.3),
                    DeliverySettings(retries=0))
    failing.offer(alert(), body(alert()))
    slow.offer(alert(), body(alert()))
    settle(failing)
    settle(slow)
    assert failing.counters().failed == 1 and "exit status 1: no route" in failing.counters().last_error
    assert slow.counters().failed == 1 and "killed" in slow.counters().last_error


def fake_notify_send(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "notify-send"
    tool.write_text(f"#!{sys.executable}\nimport json, sys\n"
                    f"open({str(tmp_path / 'shown.jsonl')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n")
    tool.chmod(0o755)
    return bin_dir


def test_desktop_notification_through_notify_send(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_notify_send(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    d = delivery(DesktopSink(timeout_s=10))
    d.offer(alert(), body(alert()))
    settle(d)
    shown = json.loads((tmp_path / "shown.jsonl").read_text())
    assert shown[:2] == ["--app-name=voxwatch", "--urgency=critical"]
    assert shown[2:] == list(describe(alert()))
    assert "machine-generated speech on system-audio" in shown[2] and "score 0.93" in shown[3]


def test_desktop_without_notify_send_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="notify-send"):
        DesktopSink()


@pytest.mark.parametrize("args, message", [
    ([], "no receiver"),
    (["--webhook", "ftp://example.org/x"], "expected an http:// or https:// URL"),
    (["--webhook", "http://127.0.0.1:9/x", "--header", "no colon"], "expected 'Name: value'"),
    (["--exec", "no-such-program-xyz --flag"], "program 'no-such-program-xyz' not found"),
    (["--webhook", "http://127.0.0.1:9/x", "--queue", "0"], "queue size must be > 0"),
])
def test_notify_user_errors_are_one_line(args, message):
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "notify", *args], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxwatch: error: ") and message in lines[0], proc.stderr


def publish_alerts(pub: EventPublisher, stream: str, n: int) -> None:
    for k in range(n):
        judgement = Judgement("alert", k, 16000 * k, 16000 * (k + 2), 0.9, 0.5, "fake", 2, early=True)
        pub.submit(JudgementEvent(stream, judgement, "m", "sha", time.monotonic()))
        pub.submit(JudgementEvent(stream, Judgement("verdict", k, 0, 1, 0.9, 0.5, "fake", 2), "m", "sha",
                                  time.monotonic()))


def test_notify_command_delivers_alerts_and_survives_bad_receivers(receiver, tmp_path):
    pub = EventPublisher(PublishSettings(bind=("tcp://127.0.0.1:*",), daemon_id="room-12", heartbeat_s=0.5))
    pub.start()
    out = tmp_path / "exec.jsonl"
    script = tmp_path / "save.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxwatch", "notify", "--verbose", "--connect", pub.bound[0],
         "--webhook", receiver.url("/ok"), "--webhook", receiver.url("/fail"), "--webhook", closed_port_url(),
         "--webhook", receiver.url("/hang"), "--header", "X-Token: t0k", "--exec", f"{sys.executable} {script} {out}",
         "--timeout", "0.5", "--retries", "1", "--drain", "3", "--for", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert pub.wait_for_subscribers(1, 15), "notify subscribed"
        t0 = time.monotonic()
        publish_alerts(pub, "system-audio", 3)
        got = receiver.wait_for("/ok", 3, timeout=10)
        assert time.monotonic() - t0 < 5  # not held up by the receivers that fail or hang
        receiver.wait_for("/fail", 6, timeout=10)  # each alert: 1 attempt + 1 retry
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        pub.close(timeout=1)
    assert proc.returncode == 0, err
    assert [(e["type"], e["utterance"], e["stream"], e["daemon"]["id"]) for e in got] == \
        [("alert", k, "system-audio", "room-12") for k in range(3)]  # verdicts are not alerts: not delivered
    assert all(headers["X-Token"] == "t0k" for _, headers, _ in receiver.requests)
    assert [json.loads(line)["utterance"] for line in out.read_text().splitlines()] == [0, 1, 2]
    assert "voxwatch: notify: 3 event(s) received" in err
    assert f"webhook {receiver.url('/ok')}: 3 delivered, 0 failed" in err
    assert f"webhook {receiver.url('/fail')}: 0 delivered, 3 failed, 3 retries" in err
    assert "exec " in err and "Traceback" not in err
    assert "delivered alert event of stream system-audio" in err  # --verbose: each delivery logged
    assert pub.events_dropped == 0


def test_verdict_filter_keeps_only_the_chosen_verdicts_and_describe_names_uncertain():
    from voxwatch.notify.notifier import Notifier

    class Sink:
        name = "list"

        def __init__(self):
            self.got = []

        def open(self):
            pass

        def send(self, event, body):  # noqa: ARG002
            self.got.append(event["verdict"] if "verdict" in event else event["type"])

        def close(self):
            pass

    sink = Sink()
    notifier = Notifier([sink], FAST, frozenset({"uncertain"}))
    notifier.start()
    for verdict in ("fake", "uncertain", "real"):
        notifier.deliver(alert() | {"type": "verdict", "verdict": verdict})
    notifier.deliver({"type": "stream", "state": "ended", "stream": "s"})
    notifier.close(5.0)
    assert sink.got == ["uncertain", "stream"] and notifier.filtered == 2
    assert "2 filtered out by --verdict" in notifier.report()[0]
    title, text = describe(alert() | {"verdict": "uncertain", "stage": "verifier"})
    assert "uncertain" in title and "by the verifier" in text


def test_the_reason_an_event_gives_reaches_every_receiver(receiver):
    """``why`` (the deciding stage, its score against its threshold, the span) is in the webhook's JSON as the
    event has it, and in the desktop notification's text; an event without one reads as before."""
    from voxwatch.notify.notifier import Notifier

    why = "verifier 0.97 >= 0.90 on 1.0-3.0 s; filter 0.93"
    event = alert() | {"stage": "verifier", "why": why}
    notifier = Notifier([WebhookSink(receiver.url("/why"), timeout_s=2)], FAST)
    notifier.start()
    notifier.deliver(event)
    assert receiver.wait_for("/why", 1) == [event]
    notifier.close(5.0)
    title, text = describe(event)
    assert text.endswith(f"({why})") and "by the verifier" in text
    assert describe(alert())[1] == "desk-1/system-audio: score 0.93 (threshold 0.50), 1.0-3.0 s"  # no reason given
