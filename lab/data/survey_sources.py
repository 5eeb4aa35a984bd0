"""What each catalogue source's adapter yields from its checkout: clips, real and fake hours, speakers, systems.

Reads the checkouts ``fetch_sources`` made and writes nothing: a markdown table, one row per source, for
docs/data.md. It runs the adapters exactly as the builder does, so an adapter error shows here first.

    python -m lab.data.survey_sources --checkouts DIR [--use eval-only] [--only SLUG ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from pathlib import Path

import soundfile as sf

from lab.data.build_data import load_adapter, read_version
from lab.data.data_sources import SOURCES, DataSource

HEADER = (
    "| source | ref, version | clips | real: clips, hours, speakers | fake: clips, hours | fake clips per system |\n"
    "|---|---|---|---|---|---|"
)


def seconds(path: Path) -> float:
    """The duration of an audio file (libsndfile, else ffprobe for what it cannot read)."""
    try:
        return sf.info(str(path)).duration
    except (sf.LibsndfileError, RuntimeError):
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                str(path)], capture_output=True, text=True)
        return float(probe.stdout.strip() or 0.0)


def survey_row(source: DataSource, root: Path) -> str:
    version = read_version(root)
    clips = list(load_adapter(source)(root, version))
    count, hours = Counter(), Counter()
    for clip in clips:
        count[clip.label] += 1
        hours[clip.label] += seconds(clip.audio) / 3600
    speakers = len({clip.speaker for clip in clips if clip.label == "bonafide"})
    systems = Counter(clip.system for clip in clips if clip.label == "spoof")
    named = ", ".join(f"{name} {n}" for name, n in sorted(systems.items())) or "-"
    return (f"| `{source.repo}` | `{source.ref}` `{version[:10]}` | {len(clips)} | {count['bonafide']}, "
            f"{hours['bonafide']:.2f} h, {speakers} | {count['spoof']}, {hours['spoof']:.2f} h | {named} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog=__doc__.splitlines()[-1].strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", type=Path, required=True, help="the folder fetch_sources made")
    parser.add_argument("--use", choices=("train", "eval-only"), help="only sources of this use")
    parser.add_argument("--only", nargs="+", metavar="SLUG", help="only these catalogue entries (owner+name)")
    args = parser.parse_args(argv)
    chosen = [s for s in SOURCES if (not args.use or s.use == args.use) and (not args.only or s.slug in args.only)]
    missing = [s.slug for s in chosen if not (args.checkouts / s.slug).is_dir()]
    if missing:
        print(f"voxwatch: error: no checkout of {', '.join(missing)} in {args.checkouts} (run fetch_sources)",
              file=sys.stderr)
        return 2
    print(HEADER)
    for source in chosen:
        print(survey_row(source, args.checkouts / source.slug), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
