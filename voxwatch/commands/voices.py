"""``voxwatch voices``: clone watch's enrolled voices from the command line (add, list, remove, check).

The voices directory is ``--dir``, else the config's ``[voices] dir``, else ``$XDG_DATA_HOME/voxwatch/voices``.
Speech is embedded with the bundled speaker encoder (``voxwatch.pipeline.stages.voice``, onnxruntime, no torch);
enrolment and checks are ``voxwatch.voices``. The daemon (`run`), `replay`, `Detector` and the web
check speech against the same directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "clone watch: enrol the voices that matter, check recordings against them"

DIR_HELP = "voices directory (default: the config's [voices] dir, else $XDG_DATA_HOME/voxwatch/voices)"
CONFIG_HELP = "TOML config whose [voices] dir to use"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("A voiceprint is a small JSON file per voice (embeddings of the bundled speaker encoder, its id "
                     "and hash, per-voice statistics). Enrol >= 30 s of speech from >= 3 recordings; under 10 s is "
                     "refused. Telephone copies of the recordings are enrolled too (--no-telephone: not). The "
                     "daemon does not check live audio against them yet.")
    sub = parser.add_subparsers(dest="voices_command", metavar="ACTION", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--dir", metavar="D", help=DIR_HELP)
        command.add_argument("--config", metavar="PATH", help=CONFIG_HELP)
        return command

    add = action("add", "enrol a voice from recordings of that person (>= 10 s of speech; >= 30 s from >= 3 "
                        "recordings recommended)")
    add.add_argument("name", metavar="NAME", help="the voice's name (letters, digits, '.', '_', '-')")
    add.add_argument("files", nargs="+", metavar="FILE", help="recordings of that person alone (WAV, FLAC, OGG)")
    add.add_argument("--replace", action="store_true", help="replace an enrolled voice of the same name")
    add.add_argument("--force", action="store_true",
                     help="enrol even when the recordings disagree or another voice is very close")
    add.add_argument("--no-telephone", dest="telephone", action="store_false",
                     help="enrol the clean recordings only (default: also their copies through every telephone "
                          "codec chain this ffmpeg has, G.711, GSM, G.726, Codec2, Opus, Speex, so that a genuine "
                          "call is not taken for someone else; without ffmpeg: clean only, with a warning)")
    listing = action("list", "list the enrolled voices")
    listing.add_argument("--json", action="store_true", help="one JSON object per voice")
    remove = action("remove", "remove an enrolled voice (deletes its voiceprint)")
    remove.add_argument("name", metavar="NAME")
    check = action("check", "check recordings against the enrolled voices: genuine, clone or none, one line each")
    check.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, OGG; any rate/channels)")
    check.add_argument("--expect", metavar="NAME", help="compare with this voice instead of the nearest one")
    check.add_argument("--json", action="store_true",
                       help='one JSON line per file: {"file", "voice": {"name", "similarity", "clone_score", '
                            '"match"}}; a file that cannot be read gives {"file", "error"}')


def voices_dir(args: argparse.Namespace) -> Path:
    """``--dir``, else the config's ``[voices] dir``, else the default; a ``--config`` given is read either way (a
    broken one is an error, not silently passed over)."""
    from voxwatch.config import load_config

    config = load_config(args.config)
    return Path(args.dir).expanduser() if args.dir else config.voices.path


def run(args: argparse.Namespace) -> int:
    from voxwatch.voices.voiceprint import VoiceStore

    store = VoiceStore(voices_dir(args))
    return {"add": _add, "list": _list, "remove": _remove, "check": _check}[args.voices_command](args, store)


def _progress(line: str) -> None:
    print(f"voxwatch: {line}", file=sys.stderr, flush=True)


def _warn(line: str) -> None:
    print(f"voxwatch: warning: {line}", file=sys.stderr, flush=True)


def _encoder():
    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder

    return OnnxVoiceEncoder(threads=1)


def _add(args: argparse.Namespace, store) -> int:
    from voxwatch.pipeline.sources import load_audio
    from voxwatch.voices.enrol import EnrolmentError, Recording, enrol
    from voxwatch.voices.telephone import enrolment_channels
    from voxwatch.voices.voiceprint import check_name

    name = check_name(args.name)
    if store.exists(name) and not args.replace:
        raise EnrolmentError(f"a voice named {name!r} is already enrolled in {store.dir}; give --replace to enrol "
                             "it anew, or remove it first")
    recordings = [Recording(Path(path).name, load_audio(path)) for path in args.files]
    existing = [store.load(other) for other in store.names() if other != name]  # the replaced one is not read
    encoder = _encoder()
    no_telephone: list[str] = []  # said once enrolled (a refusal stays one line)
    channels = enrolment_channels(no_telephone.append) if args.telephone else {}
    voiceprint = enrol(name, recordings, encoder, existing, channels=channels, force=args.force,
                       progress=_progress, warn=_warn)
    for line in no_telephone:
        _warn(line)
    path = store.save(voiceprint)
    print(f"enrolled {name}: {voiceprint.speech_s:.1f} s of speech from {len(recordings)} recording"
          f"{'s' if len(recordings) != 1 else ''}, channels {channel_list(voiceprint)}, genuine from "
          f"{genuine_from(voiceprint)} -> {path}")
    return 0


def _list(args: argparse.Namespace, store) -> int:
    from voxwatch.errors import VoxwatchError

    names = store.names()
    if not names and not args.json:
        print(f"no voices enrolled in {store.dir}", file=sys.stderr)
        return 0
    current = None
    try:
        from voxwatch.voices.enrol import encoder_id_of

        current = encoder_id_of(_encoder())
    except VoxwatchError as exc:
        _warn(f"cannot load the speaker encoder to compare ({exc})")
    for name in names:
        try:
            v = store.load(name)
        except VoxwatchError as exc:
            print(json.dumps({"name": name, "error": str(exc)}) if args.json else f"{name}\terror: {exc}")
            continue
        fits = None if current is None else v.encoder.same_as(current)
        if args.json:
            print(json.dumps({"name": v.name, "speech_s": round(v.speech_s, 2), "recordings": len(v.recordings),
                              "created": v.created, "encoder": v.encoder.model_id, "encoder_matches": fits,
                              "thresholds": v.thresholds.to_dict(), "scoring": v.method,
                              "channels": list(v.channels)}))
        else:
            note = "" if fits is not False else "\tOTHER ENCODER: enrol again"
            print(f"{v.name}\t{v.speech_s:.1f} s speech\t{len(v.recordings)} recordings\t{v.created}"
                  f"\tchannels {channel_list(v)}\tgenuine from {genuine_from(v)}{note}")
    return 0


def channel_list(voiceprint) -> str:
    """The channels a voiceprint holds, as people read them: ``clean+ulaw,alaw,...`` or ``clean only``."""
    telephone = voiceprint.channels[1:]
    return f"clean+{','.join(telephone)}" if telephone else "clean only"


def genuine_from(voiceprint) -> str:
    """Where a voiceprint's checks turn genuine, as people read it."""
    t = voiceprint.thresholds
    if voiceprint.method == "snorm":
        return f"S-norm score {t.genuine:.2f} (cohort-normalised; claimed from similarity {t.claim:.2f})"
    return f"similarity {t.genuine:.3f}"


def _remove(args: argparse.Namespace, store) -> int:
    path = store.remove(args.name)
    print(f"removed {args.name} ({path})")
    return 0


def _check(args: argparse.Namespace, store) -> int:
    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.sources import load_audio
    from voxwatch.voices import calibration as cal
    from voxwatch.voices.check import check
    from voxwatch.voices.enrol import encoder_id_of
    from voxwatch.voices.fusion import bundled_verifier, with_verifier
    from voxwatch.voices.voiceprint import VoiceprintError, require_encoder

    if args.expect is not None:
        voiceprints = [store.load(args.expect)]
    else:
        voiceprints = store.load_all()
        if not voiceprints:
            raise VoiceprintError(f"no voices enrolled in {store.dir}; enrol one: voxwatch voices add NAME FILE...")
    encoder = _encoder()
    current = encoder_id_of(encoder)
    for v in voiceprints:
        require_encoder(v, current, str(store.path(v.name)))
    rate = encoder.card.features.sample_rate
    verifier = bundled_verifier(lambda line: print(f"voxwatch: warning: {line}", file=sys.stderr))
    failed = 0
    for path in args.files:
        try:
            audio = load_audio(path)
            speech = encoder.speech(audio)
            if len(speech) < cal.MIN_CHECK_SPEECH_S * rate:
                raise VoxwatchError(f"{path}: {len(speech) / rate:.1f} s of speech; a check needs at least "
                                    f"{cal.MIN_CHECK_SPEECH_S:.0f} s")
            result = with_verifier(check(encoder.embed_speech(speech).vector, voiceprints, args.expect), audio,
                                   verifier)
        except VoxwatchError as exc:
            failed += 1
            print(f"voxwatch: error: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"file": path, "error": str(exc)}), flush=True)
            continue
        if args.json:
            print(json.dumps({"file": path, "voice": result.record()}), flush=True)
        else:
            print(f"{path}\t{result.match}\tvoice={result.name}\tsimilarity={result.similarity:.3f}"
                  f"\tclone_score={result.clone_score:.3f}", flush=True)
    return 1 if failed else 0
