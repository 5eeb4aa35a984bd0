"""Views of a built set (manifests with absolute paths into it; nothing is copied): leave one family out, and the
test split by channel.

**lofo**: the set without one generator family's training fakes, and a probe of those very fakes against the
set's real test speech. Why: a detector is judged on generators it never saw, and the only honest way to say
what "unseen" costs is to train once without a family and see how its fakes are then caught. The family's own
fakes are all training clips (demo pages of a trainable repository, twins of training speakers), so the probe
takes them from the train split: a model trained on the ``without`` view has never heard them, while a model
trained on the whole set has (its figure bounds what seeing the family buys).

**channel**: the split's fakes against only its telephone real speech (band-limited by the builder, or recorded
at 8 kHz), and against only its wideband real speech. Why: real telephone speech is where the false alarms
come from, and one figure over both hides it.

    python -m lab.data.set_views lofo --data ../data/hours --family codec --out ../data/lofo-codec
    # train with --data ../data/lofo-codec/without instead of --data ../data/hours, then
    voxwatch eval --data ../data/lofo-codec/probe --verifier RUN/verifier.onnx --report reports/lofo-codec
    python -m lab.data.set_views channel --data ../data/hours --out ../data/hours-by-channel
    voxwatch eval --data ../data/hours-by-channel/telephone --data ../data/hours-by-channel/wideband ...
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

from lab.data.build_data import is_telephone, unit

Row = dict[str, str]


class ViewError(ValueError):
    """A family or set the views cannot be made of (one line for the user)."""


def is_family_fake(row: Row, family: str) -> bool:
    return row["label"] == "spoof" and row["split"] == "train" and row.get("family") == family


def without_family(rows: list[Row], family: str) -> list[Row]:
    """Every row but the family's training fakes (dev and test stay as they are, so selection is unchanged)."""
    return [r for r in rows if not is_family_fake(r, family)]


def probe(rows: list[Row], family: str, per_system: int, seed: int = 0) -> list[Row]:
    """Up to ``per_system`` of the family's training fakes per system (a seeded draw), re-split as ``test``, and
    the real speech of the test split."""
    fakes = sorted((r for r in rows if is_family_fake(r, family)),
                   key=lambda r: (r["system"], unit(f"{seed}:probe:{r['path']}")))
    taken: Counter[str] = Counter()
    chosen = []
    for row in fakes:
        if per_system <= 0 or taken[row["system"]] < per_system:
            taken[row["system"]] += 1
            chosen.append({**row, "split": "test"})
    return chosen + [r for r in rows if r["label"] == "bonafide" and r["split"] == "test"]


def _read(data: Path) -> list[Row]:
    manifest = data / "manifest.csv"
    if not manifest.is_file():
        raise ViewError(f"{data}: no manifest.csv (a set written by the data builder)")
    with open(manifest, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and "family" not in rows[0]:
        raise ViewError(f"{manifest}: no family column (sets written by the data builder have one)")
    return [{**r, "path": str((data / r["path"]).resolve())} for r in rows]


def _write(rows: list[Row], folder: Path, columns: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_views(data: Path, family: str, out: Path, per_system: int = 60, seed: int = 0) -> tuple[int, int]:
    """Write ``OUT/without`` and ``OUT/probe``; returns (training fakes left out, probe fakes)."""
    rows = _read(data)
    families = Counter(r["family"] for r in rows if r["label"] == "spoof" and r["split"] == "train")
    if family not in families:
        known = ", ".join(f"{f} ({n})" for f, n in sorted(families.items())) or "none"
        raise ViewError(f"{data}: no training fakes of family {family!r} (families with training fakes: {known})")
    columns = list(rows[0])
    without = without_family(rows, family)
    probed = probe(rows, family, per_system, seed)
    _write(without, out / "without", columns)
    _write(probed, out / "probe", columns)
    return len(rows) - len(without), sum(r["label"] == "spoof" for r in probed)


def channel_views(data: Path, out: Path, split: str = "test") -> tuple[int, int]:
    """Write ``OUT/telephone`` and ``OUT/wideband`` (the split's fakes with one channel's real speech); returns
    the real clips of each."""
    rows = [r for r in _read(data) if r["split"] == split]
    if not rows:
        raise ViewError(f"{data}: no {split} rows")
    fakes = [r for r in rows if r["label"] == "spoof"]
    telephone = [r for r in rows if r["label"] == "bonafide" and is_telephone(r)]
    wideband = [r for r in rows if r["label"] == "bonafide" and not is_telephone(r)]
    _write(fakes + telephone, out / "telephone", list(rows[0]))
    _write(fakes + wideband, out / "wideband", list(rows[0]))
    return len(telephone), len(wideband)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.data.set_views",
                                     description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[-6:]))
    views = parser.add_subparsers(dest="view", required=True)
    lofo = views.add_parser("lofo", help="leave one generator family out (without/, probe/)")
    lofo.add_argument("--data", type=Path, required=True, help="a set written by the data builder")
    lofo.add_argument("--family", required=True, help="the generator family left out (manifest column family)")
    lofo.add_argument("--out", type=Path, required=True, help="folder for the two views (without/, probe/)")
    lofo.add_argument("--per-system", type=int, default=60,
                      help="probe fakes drawn per system of the family (default 60; 0: all)")
    lofo.add_argument("--seed", type=int, default=0)
    channel = views.add_parser("channel", help="a split's fakes against its telephone / wideband real speech")
    channel.add_argument("--data", type=Path, required=True, help="a set written by the data builder")
    channel.add_argument("--out", type=Path, required=True, help="folder for the two views (telephone/, wideband/)")
    channel.add_argument("--split", default="test", help="the split (default test)")
    args = parser.parse_args(argv)
    try:
        if args.view == "lofo":
            left_out, probed = write_views(args.data, args.family, args.out, args.per_system, args.seed)
            print(f"{args.out}/without: {args.data} without {left_out} training fakes of family {args.family}; "
                  f"{args.out}/probe: {probed} of them against the test split's real speech")
        else:
            telephone, wideband = channel_views(args.data, args.out, args.split)
            print(f"{args.out}/telephone: {telephone} real clips; {args.out}/wideband: {wideband} real clips; "
                  f"each with every {args.split} fake")
    except ViewError as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
