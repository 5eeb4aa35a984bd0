"""``voxwatch replay FILE...``: each file becomes a stream through the full pipeline, events go out over ZeroMQ."""

from __future__ import annotations

import argparse
import logging
import sys

from voxwatch.commands.curve_options import add_curve_arguments
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = "run audio files through the detector as simulated live streams and publish events"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import add_model_arguments, add_stdin_arguments

    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="audio files (WAV, FLAC, OGG; any rate/channels); - reads standard input")
    add_stdin_arguments(parser)
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--realtime", action="store_true", help="feed audio at real-time pace (like a microphone)")
    pace.add_argument("--fast", action="store_true", help="feed audio as fast as the pipeline takes it (default)")
    add_model_arguments(parser)
    publish = parser.add_mutually_exclusive_group()
    publish.add_argument("--publish", action="append", metavar="URL",
                         help=f"bind the event publisher here (repeatable; default from config, {DEFAULT_PUBLISH_URL})")
    publish.add_argument("--no-publish", action="store_true", help="do not open a ZeroMQ socket")
    parser.add_argument("--connect", action="append", metavar="URL",
                        help="connect the publisher to a broker's frontend instead of binding (repeatable)")
    parser.add_argument("--wait-subscribers", type=float, default=0.0, metavar="S",
                        help="wait up to S seconds for a subscriber before starting, so none of its events are lost")
    parser.add_argument("--daemon-id", metavar="ID", help="id in every event's daemon field (default: from config, "
                        "else the host name); tells a fleet's daemons apart behind a broker")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    add_curve_arguments(parser)


def run(args: argparse.Namespace) -> int:

    from voxwatch.commands.common import file_stream_ids, publisher_from_args, raw_format_from_args
    from voxwatch.commands.summary import SummaryCollector, print_summary
    from voxwatch.config import load_config
    from voxwatch.daemon.wiring import load_models, load_voices, published_pipeline
    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.sources import WavReplaySource
    from voxwatch.pipeline.stdin import STDIN_NAME, StdinSource

    raw = raw_format_from_args(args)
    if args.files.count(STDIN_NAME) > 1:
        raise VoxwatchError("standard input (-) can be given once")

    classifier, verifier, config = load_models(load_config(args.config), args.model, args.verifier)
    collector = SummaryCollector()
    publisher = None
    if not args.no_publish:
        publisher = publisher_from_args(args, config.publish)
    voices = load_voices(config)  # clone watch: [voices] dir, [streams.<file stem>] expect_voice
    pipeline = published_pipeline(config.pipeline, classifier, publisher, (collector,), verifier=verifier,
                                  voices=voices)
    if publisher:
        publisher.start()
        if args.wait_subscribers > 0 and not publisher.wait_for_subscribers(1, args.wait_subscribers):
            log.warning("no subscriber after %.1f s; starting anyway", args.wait_subscribers)

    from voxwatch.commands.signals import ShutdownSignals

    try:
        with ShutdownSignals() as signals:
            pipeline.start()
            for stream_id, path in zip(file_stream_ids(args.files), args.files, strict=True):
                source = (StdinSource(sys.stdin.buffer, raw, realtime=args.realtime) if path == STDIN_NAME
                          else WavReplaySource(path, realtime=args.realtime))
                pipeline.add_stream(stream_id, source)
            while not pipeline.finish(timeout=0.2):
                if signals.stop.is_set():
                    log.warning("interrupted: stopping sources and draining")
                    pipeline.stop(timeout=10)
                    break
    finally:
        if publisher:
            publisher.close()
    failed = [s for s in collector.streams.values() if s.state == "error"]
    for summary in failed:
        print(f"voxwatch: error: {summary.detail}", file=sys.stderr)
    print_summary(collector, classifier, as_json=args.json)
    return 1 if failed else 0
