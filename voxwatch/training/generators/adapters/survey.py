"""Run every evaluation-only adapter on local git snapshots and print what each yields (docs/data.md's table).

    python -m voxwatch.training.generators.adapters.survey MIRROR [--into DIR]

MIRROR holds one ``<owner>+<name>/repo`` git directory per repository (bare, or a clone's ``.git``). Only the
adapter's ``PATHS`` at its ``REF`` are written out, blob by blob, so objects a partial snapshot lacks (files of
4 MiB and more) are simply absent.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import soundfile as sf

from voxwatch.training.generators.adapters.eval_only import EVAL_ONLY_SOURCES, EvalOnlySource


def git_dir(mirror: Path, repo: str) -> Path:
    base = mirror / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


def extract(gitdir: Path, ref: str, paths: tuple[str, ...], dest: Path) -> tuple[str, int]:
    """Writes the blobs under ``paths`` at ``ref`` into ``dest``; returns the commit and how many blobs were absent."""
    git = ["git", f"--git-dir={gitdir}"]
    commit = subprocess.run([*git, "rev-parse", f"{ref}^{{commit}}"], check=True, capture_output=True, text=True)
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", ref, "--", *paths], check=True, capture_output=True)
    entries = [line.split(b"\t", 1) for line in listing.stdout.split(b"\0") if line]
    blobs = [(meta.split()[2].decode(), path.decode()) for meta, path in entries if meta.split()[1] == b"blob"]
    batch = subprocess.run(
        [*git, "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha, _ in blobs).encode(),
        check=True,
        capture_output=True,
        env={"GIT_NO_LAZY_FETCH": "1", "PATH": "/usr/bin:/bin"},
    ).stdout
    absent, offset = 0, 0
    for _, relpath in blobs:
        header_end = batch.index(b"\n", offset)
        header = batch[offset:header_end].split()
        offset = header_end + 1
        if header[-1] == b"missing":
            absent += 1
            continue
        size = int(header[2])
        target = dest / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[offset : offset + size])
        offset += size + 1
    return commit.stdout.strip(), absent


def seconds(path: Path) -> float:
    try:
        return sf.info(str(path)).duration
    except (sf.LibsndfileError, RuntimeError):
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
            capture_output=True,
            text=True,
        )
        return float(probe.stdout.strip() or 0.0)


def survey(source: EvalOnlySource, mirror: Path, into: Path) -> str:
    dest = into / source.repo.replace("/", "+")
    commit, absent = extract(git_dir(mirror, source.repo), source.ref, source.paths, dest)
    clips = list(source.module.clips(dest, commit))
    labels = Counter(clip.label for clip in clips)
    hours = Counter()
    for clip in clips:
        hours[clip.label] += seconds(clip.audio) / 3600
    systems = Counter(clip.system for clip in clips if clip.label == "spoof")
    speakers = len({clip.speaker for clip in clips if clip.label == "bonafide"})
    named = ", ".join(f"{name} {count}" for name, count in sorted(systems.items())) or "-"
    return (
        f"| `{source.repo}` | `{source.ref}` `{commit[:10]}` | {len(clips)} | {labels['bonafide']} "
        f"({hours['bonafide']:.2f} h, {speakers} spk) | {labels['spoof']} ({hours['spoof']:.2f} h) | {named} "
        f"| {absent} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirror", type=Path, help="folder of <owner>+<name>/repo git directories")
    parser.add_argument("--into", type=Path, help="where to extract (default: a temporary folder, removed after)")
    args = parser.parse_args(argv)
    print("| repository | ref, commit | clips | real (hours, speakers) | fake (hours) | fake clips per system "
          "| absent |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="voxwatch-eval-only-") as scratch:
        into = args.into or Path(scratch)
        for source in EVAL_ONLY_SOURCES:
            if not git_dir(args.mirror, source.repo).is_dir():
                print(f"| `{source.repo}` | not in {args.mirror} | | | | | |")
                continue
            print(survey(source, args.mirror, into), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
