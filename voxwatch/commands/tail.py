"""``voxwatch tail``: print events from one or more publishers as JSON lines (for jq and scripts), or as one
readable line per event (``--format text``, for people)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from voxwatch.commands.curve_options import add_curve_arguments, curve_from_args
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = "print events from the ZeroMQ stream as JSON lines (or --format text)"


def format_text(topic: str, body: dict[str, Any]) -> str:
    """One line a person reads: ``stream call-7 2.5-6.5 s: FAKE 0.99 (threshold 0.33)`` (``threshold 0.33 ±0.05``
    with an uncertain band); where the cascade's
    verifier decided, ``... FAKE 0.97 (threshold 0.80, verifier; filter 0.62)``; where the event says ``why``,
    the line ends with it: ``... — verifier 0.97 >= 0.80 on 2.5-6.5 s; filter 0.62``. Clone watch: a clone alert
    reads ``ALERT clone of alice 0.97 (...)``, and a verdict with a voice check adds ``voice alice genuine 0.93``
    (the match and its similarity) in the parentheses."""
    kind, stream = body.get("type"), body.get("stream")
    if kind in ("verdict", "alert"):
        label = f"ALERT {body['verdict']}" if kind == "alert" else str(body["verdict"]).upper()
        voice = body.get("voice") if isinstance(body.get("voice"), dict) else None
        if kind == "alert" and body.get("reason") == "clone":
            label = f"ALERT clone of {voice.get('name', '?') if voice else '?'}"
        early = ", early" if body.get("early") else ", after an early alert" if body.get("early_alert") else ""
        stage = ""
        if body.get("stage") == "verifier" and isinstance(body.get("filter_score"), int | float):
            stage = f", verifier; filter {body['filter_score']:.2f}"
        why = f" — {body['why']}" if isinstance(body.get("why"), str) and body["why"] else ""
        band = f" ±{body['band']:.2f}" if isinstance(body.get("band"), int | float) and body["band"] else ""
        if kind == "verdict" and voice and isinstance(voice.get("similarity"), int | float):
            stage += f", voice {voice.get('name')} {voice.get('match')} {voice['similarity']:.2f}"
        return (f"stream {stream} {body['start_s']:.1f}-{body['end_s']:.1f} s: {label} {body['score']:.2f} "
                f"(threshold {body['threshold']:.2f}{band}{early}{stage}){why}")
    if kind == "stream":
        detail = body.get("detail") or body.get("source") or ""
        return f"stream {stream}: {body['state']}" + (f" ({detail})" if detail else "")
    daemon = body.get("daemon", {}).get("id", "?")
    return f"{topic}: daemon {daemon} {body.get('state', kind)}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", action="append", metavar="URL",
                        help=f"publisher or broker endpoint (repeatable; default {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--topic", action="append", metavar="PREFIX",
                        help="topic prefix to subscribe to (repeatable; default all voxwatch events), "
                             "e.g. voxwatch.alert")
    parser.add_argument("--count", type=int, metavar="N", help="exit after N events")
    parser.add_argument("--timeout", type=float, metavar="S", help="exit after S seconds")
    parser.add_argument("--with-topic", action="store_true", help="add the topic to each line as \"topic\"")
    parser.add_argument("--format", choices=("json", "text"), default="json",
                        help="json: one JSON object per line (default); text: one readable line per event, "
                             "without the daemons' heartbeats (voxwatch.status) unless --heartbeats")
    parser.add_argument("--heartbeats", action="store_true",
                        help="with --format text: also print the heartbeats (JSON lines always carry them)")
    add_curve_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from voxwatch.transport.subscriber import EventSubscriber

    curve = curve_from_args(args, binds=False, connects=True)
    subscriber = EventSubscriber(args.connect or [DEFAULT_PUBLISH_URL], args.topic or ["voxwatch."],
                                 configure_socket=curve)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    printed = received = 0
    timed_out = False
    try:
        while args.count is None or printed < args.count:
            wait = 200 if deadline is None else int(max(0.0, deadline - time.monotonic()) * 1000)
            if deadline is not None and wait <= 0:
                timed_out = True
                break
            event = subscriber.receive(min(wait, 200))
            if event is None:
                continue
            topic, body = event
            received += 1
            if args.format == "text":
                if body.get("type") == "status" and not args.heartbeats:
                    continue  # a person watching verdicts does not want a line every few seconds per daemon
                line = format_text(topic, body)
            else:
                line = json.dumps({"topic": topic, **body} if args.with_topic else body, separators=(",", ":"))
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
            printed += 1
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `voxwatch tail | head` closes the pipe: not an error
        return 0
    finally:
        subscriber.close()
    if timed_out and not received:
        endpoints = ", ".join(args.connect or [DEFAULT_PUBLISH_URL])
        print(f"voxwatch tail: no events from {endpoints} in {args.timeout:g} s (is a daemon or replay publishing "
              "there? see --connect and --topic)", file=sys.stderr)
    return 0
