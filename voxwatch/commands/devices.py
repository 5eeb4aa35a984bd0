"""``voxwatch devices``: list the audio input devices PortAudio sees (what ``voxwatch run --device`` accepts)."""

from __future__ import annotations

import argparse
import json

HELP = "list audio input devices (index, name, channels, default sample rate)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")


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
    if args.json:
        for dev in devices:
            print(json.dumps({"index": dev.index, "name": dev.name, "channels": dev.channels,
                              "default_rate": dev.default_rate, "hostapi": dev.hostapi,
                              "default": dev.index == default}))
        return 0
    table = Table(title="audio input devices", title_justify="left")
    for column in ("index", "name", "channels", "default rate", "host API", ""):
        table.add_column(column, justify="right" if column in ("index", "channels", "default rate") else "left")
    for dev in devices:
        table.add_row(str(dev.index), dev.name, str(dev.channels), f"{dev.default_rate:.0f} Hz", dev.hostapi,
                      "default" if dev.index == default else "")
    Console().print(table)
    print("use: voxwatch run --device INDEX-or-NAME-SUBSTRING (repeat --device for several streams)")
    return 0
