"""Every path-taking option of every command, given a bad place: a missing parent folder, an existing file, a
folder, a place nobody may write, and a path below a file. Each answer is one ``voxwatch: error:`` line (or the
command goes on where the place is fine), never a traceback; an output path is checked before any work starts.

The options are found in the parser itself (output paths by their ``OutputFile``/``OutputFolder`` action, input
paths by their metavar), so a new option is swept without touching this file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
from daemon_helpers import free_port
from helpers import silence, speech_like, write_wav

from voxwatch.cli import build_parser, main
from voxwatch.commands.output_paths import OutputFile, OutputFolder

INPUT_METAVARS = {"FILE", "DIR", "PATH", "REAL_AUDIO", "CHECKPOINT", "MODEL"}
UNWRITABLE = Path("/sys/voxwatch-unwritable")  # even root cannot create anything in sysfs
BINDING = {"replay", "run", "broker"}  # commands whose socket binds: a CURVE server needs --curve-allow
# not bad places: an empty folder is an allow-list (a warning); any file whose first line is long enough is a token
VALID_PLACES = {("--curve-allow", "folder"), ("--token-file", "existing file")}
# not swept: options the rest of the base command line leaves unread (a warning at most; a broker would go on
# serving), and the web server's evidence and voices folders (a good one starts a server; a missing one is tested
# in test_web_evidence.py, a file in test_web_voices.py)
NOT_SWEPT = {("replay", "--curve-server-key"), ("run", "--curve-server-key"), ("broker", "--curve-server-key"),
             ("tail", "--curve-allow"), ("monitor", "--curve-allow"), ("notify", "--curve-allow"),
             ("web", "--curve-allow"), ("web", "--evidence-dir"), ("web", "--voices-dir")}
EXPECTED_OUTPUTS = {("bench", "--json"), ("calibrate", "--out"), ("eval", "--report"), ("export", "--out"),
                    ("keys generate", "DIR"), ("train", "--out"), ("train", "--cache")}


def path_options() -> list[tuple[str, str, str]]:
    """(command, option or positional metavar, "output"/"input") for every path-taking argument."""
    found = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}".strip())
            elif isinstance(action, OutputFile | OutputFolder):
                found.append((name, action.option_strings[0] if action.option_strings else action.metavar,
                              "output"))
            elif action.metavar in INPUT_METAVARS:
                found.append((name, action.option_strings[0] if action.option_strings else action.metavar,
                              "input"))

    walk(build_parser(), "")
    return found


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("places")
    keys = root / "keys"
    assert main(["keys", "generate", str(keys), "--name", "peer"]) == 0
    allow = root / "allow"
    allow.mkdir()
    (allow / "peer.key").write_bytes((keys / "peer.key").read_bytes())
    bad_config = root / "bad.toml"
    bad_config.write_text("[vad]\nframe_ms = 25\n")
    return {"wav": str(write_wav(root / "speech.wav", speech_like(3.0, 0.1, seed=3))),
            "quiet": str(write_wav(root / "quiet.wav", silence(1.0))),
            "secret": str(keys / "peer.key_secret"), "public": str(keys / "peer.key"), "allow": str(allow),
            "bad_config": str(bad_config), "root": root, "voices": str(_voices_dir(root / "voices"))}


def _voices_dir(directory: Path) -> Path:
    """A voices folder holding one voiceprint of the bundled speaker encoder (``voices check`` reads its files
    only where a voice is enrolled)."""
    import numpy as np

    from voxwatch.pipeline.stages.voice.session import OnnxVoiceEncoder
    from voxwatch.voices.enrol import encoder_id_of
    from voxwatch.voices.voiceprint import Thresholds, Voiceprint, VoiceStore

    rows = np.full((3, 256), 1 / 16, np.float32)
    VoiceStore(directory).save(Voiceprint("bob", encoder_id_of(OnnxVoiceEncoder()), {"clean": rows},
                                          Thresholds(0.75, 0.9, 0.02)))
    return directory


def base_argv(command: str, p: dict, tmp: Path) -> list[str]:
    """Valid arguments for everything but the path under test."""
    port = free_port()
    return {
        "replay": ["replay", "--publish", f"tcp://127.0.0.1:{port}", p["wav"]],
        "score": ["score", p["wav"]],
        "tail": ["tail", "--connect", f"tcp://127.0.0.1:{port}", "--timeout", "0.1"],
        "notify": ["notify", "--connect", f"tcp://127.0.0.1:{port}", "--webhook", "http://127.0.0.1:9/x",
                   "--for", "0.1"],
        "broker": ["broker", "--frontend", f"tcp://127.0.0.1:{port}", "--backend", f"tcp://127.0.0.1:{free_port()}"],
        "run": ["run", "--publish", f"tcp://127.0.0.1:{port}"],
        "monitor": ["monitor", "--connect", f"tcp://127.0.0.1:{port}", "--once", "--for", "0.1"],
        "bench": ["bench", "--short", "--no-latency"],
        "calibrate": ["calibrate", "--min-minutes", "0", p["wav"]],
        "eval": ["eval", "--data", str(tmp / "data"), "--report", str(tmp / "report")],
        "train": ["train", "--data", str(tmp / "data"), "--out", str(tmp / "run")],
        "export": ["export", str(tmp / "missing.pt"), "--out", str(tmp / "model.onnx")],
        "keys generate": ["keys", "generate", str(tmp / "keys")],
        "web": ["web", "--port", "0"],
        "voices add": ["voices", "add", "--dir", str(tmp / "voices"), "bob", p["wav"]],
        "voices list": ["voices", "list", "--dir", p["voices"]],
        "voices remove": ["voices", "remove", "--dir", str(tmp / "voices"), "bob"],
        "voices check": ["voices", "check", "--dir", p["voices"], p["wav"]],
    }[command]


# after the output paths are prepared, these make the command stop at once (a config it rejects)
POISON = {"bench": ["--config", "{bad_config}"], "calibrate": ["--config", "{bad_config}"],
          "eval": ["--config", "{bad_config}"], "train": ["--config", "{bad_config}"]}


def with_path(argv: list[str], command: str, option: str, path: str, p: dict) -> list[str]:
    """``argv`` with ``option`` (or the positional named by its metavar) set to ``path``."""
    argv = list(argv)
    if option.startswith("--"):
        if option.startswith("--curve"):
            argv += (["--curve-secret", p["secret"], "--curve-allow", p["allow"]] if command in BINDING
                     else ["--curve-secret", p["secret"], "--curve-server-key", p["public"]])
        if option in argv:
            argv[argv.index(option) + 1] = path
        else:
            argv += [option, path]
        return argv
    index = {"FILE": -1, "REAL_AUDIO": -1, "CHECKPOINT": 1, "DIR": 2}[option]
    argv[index] = path
    return argv


def bad_places(tmp: Path) -> dict[str, Path]:
    existing = tmp / "existing.txt"
    existing.write_text("not what voxwatch expects\n")
    folder = tmp / "a-folder"
    folder.mkdir()
    return {"missing parent": tmp / "missing" / "sub" / "x.out", "existing file": existing, "folder": folder,
            "unwritable": UNWRITABLE / "x.out", "below a file": existing / "x.out"}


def test_the_sweep_finds_every_output_path():
    outputs = {(c, o) for c, o, kind in path_options() if kind == "output"}
    assert outputs == EXPECTED_OUTPUTS
    assert len([1 for _, _, kind in path_options() if kind == "input"]) >= 20
    assert NOT_SWEPT <= {(c, o) for c, o, _ in path_options()}


SWEPT = [entry for entry in path_options() if entry[:2] not in NOT_SWEPT]


@pytest.mark.parametrize(("command", "option", "kind"), SWEPT, ids=[f"{c}{o}".replace(" ", "-") for c, o, _ in SWEPT])
def test_every_path_option_answers_a_bad_place_in_one_line(command, option, kind, places, tmp_path, capsys,
                                                           monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # `run` must not open this machine's sound devices
    for case, bad in bad_places(tmp_path).items():
        if (option, case) in VALID_PLACES:
            continue
        argv = with_path(base_argv(command, places, tmp_path), command, option, str(bad), places)
        if kind == "output":
            argv += [a.format(**places) for a in POISON.get(command, [])]
        before = bad.read_text() if bad.is_file() else None
        status = main(argv)  # an exception escaping here is the traceback a user would see
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("voxwatch: error:")]
        where = f"{' '.join(argv)} ({case}): status {status}, stderr {err[-600:]!r}"
        assert status in (0, 1, 2), where
        if status:
            assert errors, where
        if kind == "input":  # none of these places holds what the option asks for
            assert status, where
            continue
        wrong_kind = (case == "folder" and isinstance_file(command, option)) or \
            (case == "existing file" and not isinstance_file(command, option))
        if case in ("unwritable", "below a file") or wrong_kind:
            assert status == 2 and str(bad) in errors[0], where
        if case == "missing parent":
            assert (bad.parent if isinstance_file(command, option) else bad).is_dir(), where  # made, not refused
        if before is not None:
            assert bad.read_text() == before, where  # nothing overwritten by a run that stopped


def isinstance_file(command: str, option: str) -> bool:
    return (command, option) in {("bench", "--json"), ("calibrate", "--out"), ("export", "--out")}
