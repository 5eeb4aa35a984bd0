"""The command line: help, one-line errors, and the daemon side working without torch or PortAudio."""

import subprocess
import sys

import pytest
from helpers import silence, write_wav

BLOCK = "import sys; sys.modules['torch'] = None; sys.modules['sounddevice'] = None; "


def voxwatch(*args, prelude: str = "", timeout: float = 60):
    code = prelude + "from voxwatch.cli import main; raise SystemExit(main(sys.argv[1:]))"
    if "import sys" not in code:
        code = "import sys; " + code
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)


def test_help_lists_commands_without_torch():
    result = voxwatch("--help", prelude=BLOCK)
    assert result.returncode == 0, result.stderr
    for command in ("replay", "score", "tail"):
        assert command in result.stdout


def test_replay_runs_without_torch_and_portaudio(loud_model, loud_config, audio_files):
    result = voxwatch("replay", "--no-publish", "--json", "--model", str(loud_model), "--config", str(loud_config),
                      str(audio_files["loud"]), prelude=BLOCK)
    assert result.returncode == 0, result.stderr
    assert '"fake": 1' in result.stdout


def test_bad_config_is_one_line(tmp_path, audio_files):
    bad = tmp_path / "c.toml"
    bad.write_text("[vad]\nframe_ms = 25\n")
    result = voxwatch("score", "--config", str(bad), str(audio_files["loud"]))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["voxwatch: error: vad.frame_ms must be 10, 20 or 30, not 25"]


def test_no_command_prints_help():
    result = voxwatch()
    assert result.returncode == 2 and "usage" in result.stdout


@pytest.mark.parametrize("argv", [
    ["tail", "--connect", "nonsense", "--timeout", "1"],
    ["monitor", "--connect", "nonsense", "--once", "--for", "0.1"],
    ["replay", "--publish", "nonsense", "FILE"],
    ["replay", "--connect", "tcp://127.0.0.1:notaport", "FILE"],
    ["broker", "--frontend", "nonsense"],
    ["broker", "--backend", "tcp://127.0.0.1"],
    ["run", "--connect", "tcp://host:99999"],
])
def test_bad_endpoint_is_one_line_naming_it(argv, tmp_path, wav_file_for_endpoints):
    """Every endpoint option: one line that names the bad value, exit 2; no traceback, no bogus warning."""
    argv = [wav_file_for_endpoints if a == "FILE" else a for a in argv]
    bad = argv[argv.index(next(a for a in argv if a.startswith("--") and a not in ("--timeout", "--once", "--for")))
               + 1]
    proc = subprocess.run([sys.executable, "-m", "voxwatch", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"voxwatch: error: invalid endpoint {bad!r}: expected "
                                                "tcp://HOST:PORT (PORT may be * when binding), ipc://PATH or "
                                                "inproc://NAME"]


@pytest.fixture
def wav_file_for_endpoints(tmp_path) -> str:
    path = tmp_path / "a.wav"
    write_wav(path, silence(1.0))
    return str(path)


def test_log_options_after_the_subcommand_and_timestamps_unless_journald():
    from voxwatch.cli import build_parser, log_format, log_level

    parser = build_parser()
    assert log_level(parser.parse_args(["run", "-v"])) == 20  # was rejected: only `voxwatch -v run` worked
    assert log_level(parser.parse_args(["-v", "run"])) == 20
    assert log_level(parser.parse_args(["run", "-vv"])) == 10
    assert log_level(parser.parse_args(["tail", "--log-level", "error"])) == 40
    assert log_level(parser.parse_args(["run"])) == 30
    assert "%(asctime)s" in log_format({}) and "%(asctime)s" not in log_format({"JOURNAL_STREAM": "8:123"})


def test_negative_drain_timeout_is_one_line_before_any_device_opens():
    result = voxwatch("run", "--drain-timeout", "-1", prelude=BLOCK)  # no PortAudio: only the check can answer
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["voxwatch: error: --drain-timeout must be >= 0 seconds, not -1"]


def test_dir_of_the_package_lists_the_python_api():
    result = subprocess.run([sys.executable, "-c", "import voxwatch; print(dir(voxwatch))"], capture_output=True,
                            text=True, timeout=60)
    assert all(f"'{name}'" in result.stdout for name in ("Detector", "FileScore", "Judgement", "__version__"))
