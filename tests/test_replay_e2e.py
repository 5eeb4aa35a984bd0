"""End to end: `voxwatch replay --fast` as a subprocess, events read with a real ZeroMQ SUB socket."""

import json
import os
import socket
import subprocess
import sys
import time

import zmq


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collect(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> list[tuple[str, dict]]:
    """Read events until the daemon's final status (state "stopping") or the timeout."""
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"voxwatch.")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(url)
    events = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if sub.poll(200):
                topic, raw = sub.recv_multipart()
                body = json.loads(raw)
                events.append((topic.decode(), body))
                if body["type"] == "status" and body["state"] == "stopping":
                    break
            elif proc.poll() is not None and not sub.poll(500):
                break
    finally:
        sub.close()
    return events


def test_replay_publishes_schema_valid_events(tmp_path, loud_model, loud_config, audio_files):
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEjunk")
    cmd = [sys.executable, "-m", "voxwatch", "replay", "--fast", "--model", str(loud_model), "--config",
           str(loud_config), "--publish", url, "--wait-subscribers", "10", "--json",
           str(audio_files["two"]), str(audio_files["quiet"]), str(broken)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events = collect(url, proc)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err  # one input failed
    assert "broken.wav" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if "broken.wav" in line]) == 1

    bodies = [b for _, b in events]
    for topic, b in events:
        for field in ("schema", "type", "daemon", "stream", "seq", "ts"):
            assert field in b, (field, b)
        assert b["schema"] == 1 and topic.startswith(f"voxwatch.{b['type']}")
    seqs = [b["seq"] for b in bodies]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq is monotonic without gaps"

    verdicts = [b for b in bodies if b["type"] == "verdict"]
    for v in verdicts:
        for field in ("start_s", "end_s", "score", "threshold", "verdict", "model", "latency_ms"):
            assert field in v
        assert 0 <= v["score"] <= 1 and v["end_s"] > v["start_s"] and v["latency_ms"] >= 0
        assert len(v["model"]["sha256"]) == 64
    by_stream = {}
    for v in verdicts:
        by_stream.setdefault(v["stream"], []).append(v)
    assert [v["verdict"] for v in by_stream["two"]] == ["fake", "real"]
    assert [v["verdict"] for v in by_stream["quiet"]] == ["real"]
    for stream, vs in by_stream.items():
        assert len({v["utterance"] for v in vs}) == len(vs), f"one verdict per utterance in {stream}"

    alerts = [b for b in bodies if b["type"] == "alert"]
    assert [a["stream"] for a in alerts] == ["two"] and alerts[0]["verdict"] == "fake"
    states = {(b["stream"], b["state"]) for b in bodies if b["type"] == "stream"}
    assert {("two", "ended"), ("quiet", "ended"), ("broken", "error")} <= states
    error = next(b for b in bodies if b["type"] == "stream" and b["state"] == "error")
    assert "broken.wav" in error["detail"]
    status = [b for b in bodies if b["type"] == "status"]
    assert status and status[-1]["state"] == "stopping"
    assert status[-1]["counters"]["windows_scored"] >= 4
    assert set(status[-1]["streams"]) == {"two", "quiet", "broken"}

    summary = json.loads(out)
    rows = {r["stream"]: r for r in summary["streams"]}
    assert rows["two"]["utterances"] == 2 and rows["two"]["fake"] == 1 and rows["broken"]["state"] == "error"


def test_replay_without_model_or_with_bad_input_is_one_line(tmp_path, loud_config):
    result = subprocess.run([sys.executable, "-m", "voxwatch", "replay", "--no-publish", "--model",
                             str(tmp_path / "none.onnx"), str(tmp_path / "x.wav")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("voxwatch: error:") and "Traceback" not in result.stderr
    assert "none.onnx" in result.stderr


def test_score_command_json(loud_model, loud_config, audio_files, tmp_path):
    """One JSON line per input, spans and scores of each utterance included; a failed file too, with its error."""
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    result = subprocess.run([sys.executable, "-m", "voxwatch", "score", "--json", "--model", str(loud_model),
                             "--config", str(loud_config), str(audio_files["loud"]), str(broken),
                             str(audio_files["two"])], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr  # some input failed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in lines] == [str(audio_files["loud"]), str(broken), str(audio_files["two"])]
    assert lines[0]["verdict"] == "fake" and "error" in lines[1] and "broken.wav" in lines[1]["error"]
    spans = lines[2]["spans"]  # a loud utterance, then a quiet one from 5.0 s
    assert [s["verdict"] for s in spans] == ["fake", "real"] and spans[0]["score"] > spans[1]["score"]
    assert spans[0]["start_s"] < spans[0]["end_s"] <= spans[1]["start_s"] < spans[1]["end_s"]
    assert 3.0 < spans[1]["start_s"] < 6.0


def test_score_applies_stream_overrides_as_replay_does_and_replay_names_each_file(loud_model, audio_files,
                                                                                   tmp_path):
    """``[streams.loud]`` (the stream id both commands give loud.wav) raises that file's threshold above its
    score: score and replay both call it real, and the other file keeps ``[decision]``."""
    from helpers import LOUDNESS_TOML

    config = tmp_path / "streams.toml"
    config.write_text(LOUDNESS_TOML + "[decision]\nthreshold = 0.5\n[streams.loud]\nthreshold = 1.0\n")
    files = [str(audio_files["loud"]), str(audio_files["two"])]
    common = ["--model", str(loud_model), "--config", str(config)]
    scored = subprocess.run([sys.executable, "-m", "voxwatch", "score", "--json", *common, *files],
                            capture_output=True, text=True, timeout=60)
    assert scored.returncode == 0, scored.stderr
    lines = [json.loads(line) for line in scored.stdout.splitlines()]
    assert [(r["stream"], r["threshold"], r["fake_utterances"]) for r in lines] == [("loud", 1.0, 0), ("two", 0.5, 1)]
    assert lines[0]["verdict"] == "real"
    replayed = subprocess.run([sys.executable, "-m", "voxwatch", "replay", "--no-publish", "--json", *common, *files],
                              capture_output=True, text=True, timeout=60)
    rows = {r["stream"]: r for r in json.loads(replayed.stdout)["streams"]}
    assert rows["loud"]["source"] == str(audio_files["loud"])
    assert (rows["loud"]["fake"], rows["two"]["fake"]) == (0, 1)  # the same verdicts as score
    table = subprocess.run([sys.executable, "-m", "voxwatch", "replay", "--no-publish", *common, *files],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    row = next(line for line in table.stdout.splitlines() if " loud " in line)
    assert audio_files["loud"].name in row  # the summary table names the file behind the stream (JSON: full path)


def test_the_replay_summary_reads_whole_at_80_columns():
    """With the cascade's columns and long file names, every header word is printed whole at 80 columns, and the
    row stays one line (the names give way)."""
    import io

    from rich.console import Console

    from voxwatch.commands.summary import StreamSummary, SummaryCollector, print_summary

    collector = SummaryCollector()
    collector.streams["a-rather-long-stream-name"] = StreamSummary(
        "/calls/a-rather-long-stream-name-recorded-yesterday.flac", utterances=3, fake=1, uncertain=1, verified=2,
        alerts=1, max_score=0.97, state="ended")

    class Classifier:
        model_id, threshold = "tinycnn-test", 0.5

    out = io.StringIO()
    print_summary(collector, Classifier(), console=Console(file=out, width=80, color_system=None))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    header = next(line for line in text.splitlines() if "utterances" in line)
    for word in ("stream", "file", "utterances", "fake", "uncertain", "verifier", "alerts", "max", "status"):
        assert word in header, (word, header)
    assert "…" not in header
    (row,) = [line.split() for line in text.splitlines() if "ended" in line]  # one line: long names end in "…"
    assert row[0].startswith("a-rat") and row[-3:] == ["1", "0.970", "ended"]
