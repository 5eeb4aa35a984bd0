"""``voxwatch web``: the browser pages (Analyze a file, follow Live daemons, review Evidence) and the HTTP API.

Safe by default: it listens on 127.0.0.1; any other address needs ``--token``/``--token-file``, which every page
and API call must then carry. Needs the ``web`` extra (FastAPI, uvicorn); the daemon never loads it.
"""

from __future__ import annotations

import argparse

from voxwatch.commands.curve_options import add_curve_arguments, curve_from_args
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = ("serve the web pages (Analyze, Live, Evidence, Voices) and the HTTP API (POST /api/score, GET /api/events, "
        "/api/voices)")
WEB_EXTRA_HINT = "install the web extra: pip install 'voxwatch[web]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.commands.common import add_model_arguments

    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; any other needs --token or --token-file)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port, printed)")
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token", metavar="TOKEN", help="require this token (at least 16 characters) on every page "
                       "and API call; visible to other local users in the process list, so prefer --token-file")
    token.add_argument("--token-file", metavar="FILE", help="read the token from FILE")
    parser.add_argument("--connect", action="append", metavar="URL",
                        help=f"Live page: daemon or broker endpoint (repeatable; default {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--stale", type=float, metavar="S", help="Live page: mark a daemon stale when its heartbeat "
                        "is older than S seconds (default: 3 heartbeat periods)")
    parser.add_argument("--evidence-dir", metavar="DIR", help="Evidence page: the evidence store, an existing "
                        "directory (default: the config's [evidence] dir, ~/.local/state/voxwatch/evidence; while it "
                        "does not exist yet, the page says so)")
    parser.add_argument("--voices-dir", metavar="DIR", help="Voices page: the enrolled voices (default: the config's "
                        "[voices] dir, ~/.local/share/voxwatch/voices)")
    add_model_arguments(parser, config_help="TOML config (default: built-in): the detector's settings and the "
                        "default evidence and voices directories")
    parser.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB",
                        help="largest upload accepted (default 20; larger: 413)")
    parser.add_argument("--max-duration-s", type=float, default=600.0, metavar="S",
                        help="longest audio accepted in one upload (default 600; longer: 413)")
    add_curve_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voxwatch.config import load_config
    from voxwatch.errors import VoxwatchError
    from voxwatch.web.settings import WebSettings, read_token_file

    token = read_token_file(args.token_file) if args.token_file else args.token
    config = load_config(args.config)
    if args.evidence_dir:
        evidence_dir = Path(args.evidence_dir).expanduser()
        if not evidence_dir.is_dir():  # a typo would otherwise show an empty store as if nothing had been saved
            what = "is not a directory" if evidence_dir.exists() else "does not exist"
            raise VoxwatchError(f"--evidence-dir {args.evidence_dir}: {what} (the daemon's [evidence] dir, where "
                                "voxwatch run saves alert clips)")
    else:  # the config's store may not exist yet on a fresh machine: the Evidence page says so
        evidence_dir = config.evidence.path
    voices_dir = Path(args.voices_dir).expanduser() if args.voices_dir else config.voices.path
    if voices_dir.exists() and not voices_dir.is_dir():  # a missing one is made by the first enrolment
        raise VoxwatchError(f"--voices-dir {voices_dir}: is not a directory (the voiceprints' folder, as voxwatch "
                            "voices --dir)")
    settings = WebSettings(host=args.host, port=args.port, token=token, max_upload_mb=args.max_upload_mb,
                           max_duration_s=args.max_duration_s, evidence_dir=evidence_dir,
                           voices_dir=voices_dir,
                           connect=tuple(args.connect or [DEFAULT_PUBLISH_URL]))
    settings.check_bind()  # before anything is loaded: a refused bind is one line and exit 2
    curve = curve_from_args(args, binds=False, connects=True)
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise VoxwatchError(f"voxwatch web needs FastAPI and uvicorn; {WEB_EXTRA_HINT}") from None

    from voxwatch.daemon.evidence_review import EvidenceReview
    from voxwatch.detector import Detector
    from voxwatch.web.app import create_app
    from voxwatch.web.live import LiveFeed
    from voxwatch.web.scoring import ScoreService
    from voxwatch.web.server import serve

    scorer = ScoreService(Detector(model=args.model, config=config, verifier=args.verifier), settings.max_duration_s)
    feed = LiveFeed(list(settings.connect), configure_socket=curve, stale_s=args.stale)
    app = create_app(settings, scorer, feed, EvidenceReview(settings.evidence_dir))
    serve(app, settings, log_level="info" if getattr(args, "verbose", 0) else "warning", on_exit=feed.end_streams)
    return 0
