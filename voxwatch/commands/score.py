"""``voxwatch score FILE...``: offline scoring of whole files with ``Detector`` (the daemon's stages, no sockets).

One line per file: the file score is the aggregate (``decision.aggregate``) of its utterances' filter scores
(each of which aggregates that utterance's windows, as the daemon does). Without a verifier the verdict compares it
with the threshold; with the cascade (voxwatch.pipeline.cascade) each utterance has its own final verdict and the
file is as bad as its worst utterance (fake, else uncertain, else real).
Files in which the VAD found no scorable speech say ``no-speech``. Each file is judged as the stream ``replay``
would make of it (its id from the file name, ``file_stream_ids``), so a config's ``[streams.<id>]`` settings apply
to it in both, and so do the enrolled voices of ``[voices] dir`` (clone watch: each span's ``voice``, clone alerts).
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "score whole files offline (same stages as the daemon, no sockets), one line per file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import add_model_arguments, add_stdin_arguments

    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="audio files (WAV, FLAC, OGG; any rate/channels); - reads standard input")
    add_model_arguments(parser)
    add_stdin_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per line, with each utterance's span "
                        "and score; a file that fails gives {\"file\": ..., \"error\": ...}")


def run(args: argparse.Namespace) -> int:
    from voxwatch.commands.common import file_stream_ids, raw_format_from_args
    from voxwatch.config import load_config
    from voxwatch.daemon.wiring import load_voices
    from voxwatch.detector import Detector
    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.stdin import STDIN_NAME, read_all

    raw = raw_format_from_args(args)
    config = load_config(args.config)
    voices = load_voices(config)  # clone watch as replay runs it: [voices] dir, [streams.<id>] expect_voice
    detector = Detector(model=args.model, config=config, verifier=args.verifier,
                        voices=voices if voices is not None and voices.voiceprints else None)
    failed = 0
    for path, stream in zip(args.files, file_stream_ids(args.files), strict=True):
        try:  # each file is judged as the stream replay would make of it: its [streams.<id>] settings apply
            if path == STDIN_NAME:
                result = detector.score_audio(read_all(sys.stdin.buffer, raw), path=path, stream=stream)
            else:
                result = detector.score_file(path, stream)
        except VoxwatchError as exc:  # an unreadable file: say so and go on with the others
            failed += 1
            print(f"voxwatch: error: {exc}", file=sys.stderr)
            if args.json:  # a script reading the JSON lines sees every input, the failed ones too
                print(json.dumps({"file": path, "error": str(exc)}))
            continue
        if args.json:
            print(json.dumps(result.record(spans=True)))
        else:
            shown = "-" if result.score is None else f"{result.score:.4f}"
            verified = f"\tverified={result.verified_utterances}" if result.verifier_id else ""
            print(f"{path}\t{result.verdict}\tscore={shown}\tutterances={len(result.utterances)}"
                  f"\tfake={result.fake_utterances}{verified}")
    return 1 if failed else 0
