"""``voxwatch devices``: list the audio input devices PortAudio sees (what ``voxwatch run --device`` accepts),
and the sound server's monitor sources (what ``voxwatch run --system-audio`` captures), the default one marked."""

from __future__ import annotations

import argparse
import json

HELP = "list audio input devices (index, name, channels, default sample rate) and monitor sources"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")


def _monitors() -> tuple[list, str]:
    """The sound server's monitor sources, or none and the reason."""
    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.system_audio import monitor_sources

    try:
        return monitor_sources(), ""
    except VoxwatchError as exc:
        return [], str(exc)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from voxwatch.errors import VoxwatchError
    from voxwatch.pipeline.mic import NO_INPUT_HINT, PortAudioHost

    host = PortAudioHost()  # a VoxwatchError with install instructions when PortAudio is missing
    devices = host.input_devices()
    if not devices:
        raise VoxwatchError(NO_INPUT_HINT)  # what to do, not just "none" with exit 0
    default = host.sd.default.device[0]
    monitors, no_monitors = _monitors()
    if args.json:
        for dev in devices:
            print(json.dumps({"index": dev.index, "name": dev.name, "channels": dev.channels,
                              "default_rate": dev.default_rate, "hostapi": dev.hostapi,
                              "default": dev.index == default, "monitor": False}))
        for mon in monitors:
            print(json.dumps({"index": mon.index, "name": mon.name, "sink": mon.sink, "hostapi": "PulseAudio monitor",
                              "default": mon.default, "monitor": True}))
        return 0
    if monitors:
        table = Table(title="system audio (monitor sources: what an output plays)", title_justify="left")
        for column in ("index", "name", "output (sink)", ""):
            table.add_column(column, justify="right" if column == "index" else "left")
        for mon in monitors:
            table.add_row(str(mon.index), mon.name, mon.sink, "default output: --system-audio" if mon.default else "")
        Console().print(table)
    else:
        print(f"no system audio: {no_monitors}")
    table = Table(title="audio input devices", title_justify="left")
    for column in ("index", "name", "channels", "default rate", "host API", ""):
        table.add_column(column, justify="right" if column in ("index", "channels", "default rate") else "left")
    for dev in devices:
        table.add_row(str(dev.index), dev.name, str(dev.channels), f"{dev.default_rate:.0f} Hz", dev.hostapi,
                      "default" if dev.index == default else "")
    Console().print(table)
    print("use: voxwatch run --device INDEX-or-NAME-SUBSTRING (repeat --device for several streams)")
    return 0
