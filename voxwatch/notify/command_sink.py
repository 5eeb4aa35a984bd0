"""``CommandSink`` (``--exec``) and ``DesktopSink`` (``notify-send``): a process per event, never a shell.

The command line is split like a shell would (``shlex``) but run directly, so text inside an event can never
become shell syntax; a command that needs a shell can be ``sh -c '...'`` explicitly. The event JSON goes to the
command's standard input; a command still running after the timeout is killed and counts as a failure.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from typing import Any

from voxwatch.errors import ConfigError
from voxwatch.notify.delivery import DeliveryError


def run_command(argv: list[str], stdin: bytes, timeout_s: float) -> None:
    """Run ``argv`` with ``stdin``; DeliveryError if it cannot start, times out or exits non-zero."""
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise DeliveryError(f"still running after {timeout_s:g} s; killed") from None
    except OSError as exc:
        raise DeliveryError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DeliveryError(f"exit status {proc.returncode}" + (f": {said[-1][:200]}" if said else ""))


def _program(argv: list[str], option: str) -> str:
    if not argv:
        raise ConfigError(f"{option}: empty command")
    path = shutil.which(argv[0])
    if path is None:
        raise ConfigError(f"{option}: program {argv[0]!r} not found")
    return path


class _ProcessPerEvent:
    """Nothing to open or close: each event runs a process of its own."""

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass


class CommandSink(_ProcessPerEvent):
    """``--exec CMD``: runs CMD once per event with the event JSON on standard input."""

    def __init__(self, command: str, timeout_s: float = 10.0) -> None:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(f"--exec {command!r}: {exc}") from None
        self.argv = [_program(argv, "--exec"), *argv[1:]]
        self.name = f"exec {argv[0] if argv else ''}"
        self.timeout_s = timeout_s

    def send(self, event: dict[str, Any], body: bytes) -> None:
        run_command(self.argv, body, self.timeout_s)


def describe(event: dict[str, Any]) -> tuple[str, str]:
    """A notification's title and text for an event (alerts in words, with the event's ``why`` where it has one;
    other types by type and state)."""
    daemon = (event.get("daemon") or {}).get("id", "?")
    stream = event.get("stream") or "-"
    if event.get("type") in ("alert", "verdict"):
        titles = {"fake": "machine-generated speech", "uncertain": "uncertain speech (review)"}
        title = f"voxwatch: {titles.get(str(event.get('verdict')), 'real speech')} on {stream}"
        voice = event.get("voice")
        if event.get("type") == "alert" and event.get("reason") == "clone":
            name = voice.get("name", "?") if isinstance(voice, dict) else "?"
            title = f"voxwatch: clone of {name} on {stream}"
        stage = " by the verifier" if event.get("stage") == "verifier" else ""
        text = (f"{daemon}/{stream}: score {event.get('score', 0):.2f} (threshold {event.get('threshold', 0):.2f})"
                f"{stage}, {event.get('start_s', 0):.1f}-{event.get('end_s', 0):.1f} s"
                + (", after an early alert" if event.get("early_alert") else "")
                + (f" ({event['why']})" if isinstance(event.get("why"), str) and event["why"] else ""))
        return title, text
    return f"voxwatch: {event.get('type')} on {stream}", f"{daemon}/{stream}: {event.get('state', '')}"


class DesktopSink(_ProcessPerEvent):
    """A desktop notification per event through ``notify-send`` (libnotify), urgency critical for alerts."""

    name = "desktop (notify-send)"

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.program = _program(["notify-send"], "--desktop")
        self.timeout_s = timeout_s

    def send(self, event: dict[str, Any], body: bytes) -> None:  # noqa: ARG002
        title, text = describe(event)
        urgency = "critical" if event.get("type") == "alert" else "normal"
        run_command([self.program, "--app-name=voxwatch", f"--urgency={urgency}", title, text], b"", self.timeout_s)
