import json

import pytest

from voxwatch.pipeline.decision import Judgement
from voxwatch.transport.events import (
    MalformedMessage,
    decode_message,
    encode,
    event_fields,
    safe_stream_id,
    topic_for,
    unique_stream_ids,
)
from voxwatch.transport.subscriber import SeqTracker


def body(**extra):
    base = {"schema": 1, "type": "stream", "daemon": {"id": "d1", "host": "h", "pid": 7}, "stream": "s",
            "seq": 3, "ts": 1.0, "state": "started"}
    return {**base, **extra}


def test_only_alerts_carry_the_refractory_period():
    verdict = Judgement("verdict", 2, 16000, 48000, 0.91, 0.5, "fake", 2)
    assert "refractory_s" not in event_fields(verdict, "m", "abc")


def test_roundtrip_alert():
    j = Judgement("alert", 2, 16000, 48000, 0.91, 0.5, "fake", 2, True, 5.0)
    fields = event_fields(j, "m", "abc")
    assert fields["start_s"] == 1.0 and fields["end_s"] == 3.0 and fields["model"] == {"id": "m", "sha256": "abc"}
    assert fields["refractory_s"] == 5.0  # how long the daemon stays quiet about the stream after this alert
    msg = body(type="alert", latency_ms=1.0, **fields)
    topic, decoded = decode_message(encode(topic_for("alert", "s"), msg))
    assert topic == "voxwatch.alert.s" and decoded == msg


@pytest.mark.parametrize("frames, reason", [
    ([b"voxwatch.stream.s"], "expected 2 frames"),
    ([b"voxwatch.stream.s", b"{not json"], "undecodable"),
    ([b"voxwatch.stream.s", b"[1, 2]"], "not a JSON object"),
    ([b"voxwatch.stream.s", json.dumps(body(schema=99)).encode()], "schema version"),
    ([b"voxwatch.stream.s", json.dumps(body(type="nope")).encode()], "unknown type"),
    ([b"voxwatch.alert.s", json.dumps(body()).encode()], "does not match"),
    ([b"voxwatch.stream.s", json.dumps(body(seq=-1)).encode()], "seq"),
    ([b"voxwatch.stream.s", json.dumps(body(daemon="x")).encode()], "daemon"),
    ([b"voxwatch.stream.s", json.dumps({k: v for k, v in body().items() if k != "state"}).encode()], "without"),
    ([b"\xff\xfe", b"{}"], "undecodable"),
    ([b"voxwatch.stream.s", b" " * 2_000_000], "exceeds"),
])
def test_malformed_messages_are_rejected(frames, reason):
    with pytest.raises(MalformedMessage, match=reason):
        decode_message(frames)


def test_stream_ids_are_topic_safe():
    assert safe_stream_id("my call #1.wav") == "my_call_1.wav"
    assert safe_stream_id("///") == "stream"


def test_unique_stream_ids_number_repeats_and_never_collide():
    assert unique_stream_ids(["a", "b", "a", "a"]) == ["a", "b", "a-2", "a-3"]
    assert unique_stream_ids(["a", "a", "a-2"]) == ["a", "a-2", "a-2-2"]  # a name that looks like a numbered repeat
    assert unique_stream_ids(["call #1", "call_1", "///"]) == ["call_1", "call_1-2", "stream"]


def test_files_and_devices_get_their_stream_ids_by_the_same_rule():
    from voxwatch.commands.common import file_stream_ids
    from voxwatch.daemon.service import device_stream_ids

    assert file_stream_ids(["x/call.wav", "y/call.flac", "-", "z/my call.ogg"]) == ["call", "call-2", "stdin",
                                                                                    "my_call"]
    assert device_stream_ids(["USB Audio", "2", "", "USB Audio"], ["USB", "mic", "HDA Intel", "USB"]) == [
        "USB_Audio", "mic2", "HDA_Intel", "USB_Audio-2"]


def test_seq_tracker_lost_sums_daemons_and_first_seq_counts_a_missing_start():
    late = SeqTracker()
    assert late.observe(body(seq=7)) == 0  # a consumer that joined late missed nothing
    counted = SeqTracker(first_seq=0)
    assert counted.observe(body(seq=3)) == 3  # there from the start: seq 0-2 never arrived
    assert counted.observe(body(seq=5, daemon={"id": "d2", "pid": 1})) == 5
    assert counted.observe(body(seq=4)) == 0
    assert counted.lost == 8 and counted.gaps == {"d1": 3, "d2": 5}


def test_seq_tracker_counts_gaps_but_not_restarts():
    t = SeqTracker()
    assert t.observe(body(seq=0)) == 0
    assert t.observe(body(seq=1)) == 0
    assert t.observe(body(seq=5)) == 3
    assert t.observe(body(seq=0, daemon={"id": "d1", "pid": 8})) == 0  # restarted daemon
    assert t.observe(body(seq=0, daemon={"id": "d2", "pid": 1})) == 0
    assert t.gaps == {"d1": 3}


def test_tail_text_format_is_one_readable_line_per_event():
    from voxwatch.commands.tail import format_text

    verdict = {"type": "verdict", "stream": "call-7", "start_s": 2.5, "end_s": 6.5, "score": 0.991,
               "threshold": 0.328, "verdict": "fake", "early": False}
    assert format_text("voxwatch.verdict.call-7", verdict) == "stream call-7 2.5-6.5 s: FAKE 0.99 (threshold 0.33)"
    alert = {**verdict, "type": "alert", "early": True}
    assert format_text("voxwatch.alert.call-7", alert) == \
        "stream call-7 2.5-6.5 s: ALERT fake 0.99 (threshold 0.33, early)"
    ended = {"type": "stream", "stream": "call-7", "state": "error", "detail": "cannot decode"}
    assert format_text("voxwatch.stream.call-7", ended) == "stream call-7: error (cannot decode)"
    cascade = {**verdict, "score": 0.97, "threshold": 0.8, "stage": "verifier", "filter_score": 0.62}
    assert format_text("voxwatch.verdict.call-7", cascade) == \
        "stream call-7 2.5-6.5 s: FAKE 0.97 (threshold 0.80, verifier; filter 0.62)"
    unsure = {**cascade, "verdict": "uncertain", "score": 0.79, "band": 0.05}
    assert format_text("voxwatch.verdict.call-7", unsure) == \
        "stream call-7 2.5-6.5 s: UNCERTAIN 0.79 (threshold 0.80 ±0.05, verifier; filter 0.62)"  # the band said
    why = "verifier 0.97 >= 0.80 on 2.5-6.5 s; filter 0.62"
    assert format_text("voxwatch.verdict.call-7", {**cascade, "why": why}) == \
        f"stream call-7 2.5-6.5 s: FAKE 0.97 (threshold 0.80, verifier; filter 0.62) — {why}"


def test_a_verdict_after_an_early_alert_says_so_everywhere_a_person_reads_it():
    from rich.console import Console

    from voxwatch.commands.tail import format_text
    from voxwatch.monitor.state import MonitorState
    from voxwatch.monitor.view import render
    from voxwatch.notify.command_sink import describe
    from voxwatch.pipeline.decision import Judgement
    from voxwatch.transport.events import event_fields

    verdict = Judgement("verdict", 3, 0, 64000, 0.39, 0.84, "real", 3, early_alert=True)
    fields = event_fields(verdict, "m", "s")
    assert fields["early_alert"] is True
    assert fields["stage"] == "filter" and fields["filter_score"] == 0.39 and fields["verifier_score"] is None
    assert "early_alert" not in event_fields(Judgement("alert", 3, 0, 32000, 0.7, 0.84, "fake", 2, True), "m", "s")
    body = {"schema": 1, "type": "verdict", "daemon": {"id": "desk-1"}, "stream": "call-7", "seq": 0, "ts": 1.0,
            "latency_ms": 1.0, **fields}
    assert format_text("voxwatch.verdict.call-7", body) == \
        "stream call-7 0.0-4.0 s: REAL 0.39 (threshold 0.84, after an early alert)"
    assert describe(body)[1].endswith(", after an early alert")
    state = MonitorState()
    state.apply("voxwatch.verdict.call-7", body, now=0.0)
    console = Console(record=True, width=170, color_system=None)
    console.print(render(state, 0.0))
    assert "real (early alert)" in console.export_text()
