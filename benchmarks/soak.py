"""Soak test: a daemon replaying many files in a loop, as fast as it can, for a long time (default 10 minutes).

What it checks (the issue's acceptance): memory stays flat (RSS of the daemon process, sampled from /proc, over
time) and a subscriber that keeps up loses nothing (no gaps in the daemon's ``seq``, no events or audio dropped).

The daemon is a child process (``--child``) built as ``voxwatch run`` builds its own: ``voxwatch.daemon.wiring``
loads the filter and the cascade's verifier (``--verifier``, else ``[verifier]``, else the bundled one) and clone
watch's voices (``[voices] dir``, ``load_voices``) and joins ``Pipeline`` and ``EventPublisher``; so the soak runs
the cascade that ships, its verifier and voice threads included. It has
``--streams`` streams, each cycling through the file list (decoded once, 0.5 s of silence between files) until the
time is over. The parent subscribes with ``EventSubscriber``, samples the child's RSS every ``--sample`` seconds
and prints a summary: events, drops, ``seq`` gaps, the verifier's counters, clone watch's where voices are enrolled
(``--config`` with a ``[voices] dir``), RSS over time (``--json`` writes it).

    python3 benchmarks/soak.py --minutes 10 --streams 4     # the acceptance run (files from the shared corpus)
    python3 benchmarks/soak.py --minutes 1 --streams 2 --model voxwatch/models/default.onnx
    python3 benchmarks/soak.py --verifier none              # the filter alone
    python3 benchmarks/soak.py FILE...                      # your own files

Without ``--model`` it uses the bundled default model, or (none bundled) a small test model from tests/helpers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pick_files(count: int) -> list[str]:
    """Up to ``count`` corpus files of at least 1.5 s, spread over sources; synthetic files if no corpus."""
    manifest = CORPUS / "manifest.csv"
    if manifest.exists():
        rows = [r for r in csv.DictReader(manifest.open()) if float(r["duration_s"]) >= 1.5]
        by_source: dict[str, list[dict]] = {}
        for row in rows:
            by_source.setdefault(row["source"], []).append(row)
        picked: list[str] = []
        while len(picked) < count and any(by_source.values()):
            for source in sorted(by_source):
                if by_source[source] and len(picked) < count:
                    picked.append(str(CORPUS / by_source[source].pop(0)["path"]))
        return picked
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    from helpers import silence, speech_like, write_wav

    out = Path(tempfile.mkdtemp(prefix="voxwatch-soak-"))
    files = []
    for i in range(min(count, 20)):
        audio = np.concatenate([silence(0.3), speech_like(2.0 + i % 3, 0.02 + 0.28 * (i % 2), seed=i), silence(0.3)])
        files.append(str(write_wav(out / f"syn{i}.wav", audio)))
    return files


def default_model(tmp: Path) -> tuple[str, str | None]:
    """(model path, config path or None): the bundled model, or a loudness test model with its config."""
    from voxwatch.models import default_model_path

    bundled = default_model_path()
    if bundled is not None:
        return str(bundled), None
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import build_mean_model

    model = build_mean_model(tmp / "mean.onnx", scale=2.0, offset=-9.5)
    config = tmp / "loud.toml"
    config.write_text('[features]\nnormalize = "none"\n')
    return str(model), str(config)


# ---------------------------------------------------------------------------------------------- child (daemon)
class LoopingSource:
    """Cycles through pre-decoded files as fast as the ring buffer takes them, until ``deadline``."""

    def __init__(self, audios: list, offset: int, deadline: float) -> None:
        self.audios = audios
        self.offset = offset
        self.deadline = deadline
        self.description = f"loop of {len(audios)} files"

    def run(self, ring, stop, report) -> None:
        import numpy as np

        from voxwatch.pipeline.sources import write_blocks

        gap = np.zeros(8000, dtype=np.float32)
        i = self.offset
        while not stop.is_set() and time.monotonic() < self.deadline:
            write_blocks(self.audios[i % len(self.audios)], ring, stop, 320, realtime=False)
            write_blocks(gap, ring, stop, 320, realtime=False)
            i += 1


def child(args: argparse.Namespace) -> int:
    import dataclasses

    from voxwatch.malloc_tuning import pin_malloc_thresholds

    pin_malloc_thresholds()  # as the voxwatch command does (and OPENBLAS_NUM_THREADS, set by the parent)
    from voxwatch.config import load_config
    from voxwatch.daemon.wiring import load_models, load_voices, published_pipeline
    from voxwatch.pipeline.sources import load_audio
    from voxwatch.transport.publisher import EventPublisher

    classifier, verifier, config = load_models(load_config(args.config), args.model, args.verifier)
    publish = dataclasses.replace(config.publish, bind=(args.publish,), heartbeat_s=1.0, daemon_id="soak")
    audios = [load_audio(f) for f in args.files]
    publisher = EventPublisher(publish)
    voices = load_voices(config)  # clone watch, as run and replay load it: [voices] dir
    pipeline = published_pipeline(config.pipeline, classifier, publisher, verifier=verifier, voices=voices)
    publisher.start()
    publisher.wait_for_subscribers(1, 30)
    deadline = time.monotonic() + args.duration
    pipeline.start()
    for s in range(args.streams):
        pipeline.add_stream(f"loop{s}", LoopingSource(audios, s * 7, deadline))
    pipeline.finish()
    publisher.close()
    return 0


# ---------------------------------------------------------------------------------------------- parent
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="audio files to loop (default: corpus or synthetic)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="how long (default 10)")
    length.add_argument("--duration", type=float, help="how long in seconds (default 600)")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--count", type=int, default=120, help="files to pick from the corpus")
    parser.add_argument("--model", help="the filter .onnx (default: the bundled one)")
    parser.add_argument("--verifier", help="the cascade's verifier .onnx, or none (default: as voxwatch run: "
                        "[verifier], else the bundled one for the bundled filter)")
    parser.add_argument("--config")
    parser.add_argument("--sample", type=float, default=10.0, help="RSS sampling period, s")
    parser.add_argument("--json", metavar="PATH", help="write the summary as JSON here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--publish", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.duration is None:
        args.duration = 60.0 * (10.0 if args.minutes is None else args.minutes)
    if args.duration <= 0 or args.streams <= 0 or args.sample <= 0:
        parser.error("--minutes/--duration, --streams and --sample must be positive")
    if args.child:
        return child(args)

    from voxwatch.transport.subscriber import EventSubscriber

    tmp = Path(tempfile.mkdtemp(prefix="voxwatch-soak-"))
    files = args.files or pick_files(args.count)
    model, config = (args.model, args.config) if args.model else default_model(tmp)
    config = args.config or config
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    cmd = [sys.executable, __file__, "--child", "--publish", url, "--duration", str(args.duration),
           "--streams", str(args.streams), "--model", model, *(["--config", config] if config else []),
           *(["--verifier", args.verifier] if args.verifier else []), *files]
    proc = subprocess.Popen(cmd, env={**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS",
                                                                                           "1")})
    subscriber = EventSubscriber([url])
    counts: dict[str, int] = {}
    last_status: dict = {}
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample_rss() -> None:
        t0 = time.monotonic()
        while not done.wait(args.sample if samples else 2.0):
            try:
                rss = rss_mb(proc.pid)
            except FileNotFoundError:
                return
            if rss == rss:  # not NaN (an exited child has no VmRSS)
                samples.append((round(time.monotonic() - t0, 1), round(rss, 1)))

    threading.Thread(target=sample_rss, daemon=True).start()
    t_start = time.monotonic()
    stopping = False
    try:
        while proc.poll() is None or not stopping:
            event = subscriber.receive(500)
            if event is None:
                if proc.poll() is not None:
                    break
                continue
            _, body = event
            counts[body["type"]] = counts.get(body["type"], 0) + 1
            if body["type"] == "status":
                last_status = body
                stopping = body.get("state") == "stopping"
    finally:
        done.set()
        proc.wait(60)
        subscriber.close()
    wall = time.monotonic() - t_start
    c = last_status.get("counters", {})
    after_warmup = [r for t, r in samples if t >= 30] or [r for _, r in samples]
    models = last_status.get("model", {})
    summary = {
        "duration_s": round(wall, 1), "files": len(files), "streams": args.streams, "model": model,
        "model_id": models.get("id"), "verifier": models.get("verifier"),  # as the daemon's heartbeat names them
        "verifier_counters": {k: v for k, v in c.items() if k == "gated" or k.startswith("verifier_")} or None,
        "voice_counters": {k: v for k, v in c.items() if k == "clone_alerts" or k.startswith("voice_")} or None,
        "audio_s": c.get("audio_s"), "speed_x_realtime": round((c.get("audio_s") or 0) / wall, 1),
        "windows_scored": c.get("windows_scored"), "events_received": sum(counts.values()), "by_type": counts,
        "events_published": c.get("events_published"), "events_dropped": c.get("events_dropped"),
        "dropped_audio_s": c.get("dropped_s"), "seq_gaps": sum(subscriber.seq.gaps.values()),
        "malformed": subscriber.malformed, "rss_first_mb": samples[0][1] if samples else None,
        "rss_after_warmup_mb": after_warmup[0] if after_warmup else None,
        "rss_end_mb": samples[-1][1] if samples else None, "rss_max_mb": max((r for _, r in samples), default=None),
        "rss_samples": samples, "exit_code": proc.returncode,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "rss_samples"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    print("RSS over time (s: MB):", ", ".join(f"{t:g}: {r:g}" for t, r in samples) or "no sample")
    print(f"dropped: {summary['events_dropped']} events, {summary['dropped_audio_s']} s of audio; verifier: "
          f"{summary['verifier'] or 'none (the filter alone)'}"
          + (f", {c.get('verifier_verified', 0)} utterances verified, {c.get('verifier_queue_full', 0)} queue full"
             if summary["verifier"] else ""))
    if summary["voice_counters"]:  # clone watch ran: voices enrolled in the config's [voices] dir
        v = summary["voice_counters"]
        print(f"clone watch: {v.get('voice_checked', 0)} utterances checked, {v.get('voice_queue_full', 0)} queue "
              f"full, {v.get('clone_alerts', 0)} clone alerts")
    ok = proc.returncode == 0 and summary["seq_gaps"] == 0
    print("soak:", "OK" if ok else "FAILED", f"(seq gaps {summary['seq_gaps']}, RSS {summary['rss_after_warmup_mb']}"
          f" -> {summary['rss_end_mb']} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
