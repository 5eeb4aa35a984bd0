"""The README's Install section: ``python -m build`` makes a wheel that holds what an install needs without a
source checkout (the bundled models with their cards, the commented default config, the systemd units, the demo
recording), each byte for byte as in the repository, and nothing of the lab (lab/README.md)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NEEDED = {"voxwatch/models/default.onnx": "voxwatch/models/default.onnx",
          "voxwatch/models/default.json": "voxwatch/models/default.json",
          "voxwatch/models/default-int8.onnx": "voxwatch/models/default-int8.onnx",
          "voxwatch/models/default-int8.json": "voxwatch/models/default-int8.json",
          "voxwatch/models/voice-cohort.npy": "voxwatch/models/voice-cohort.npy",
          "voxwatch/models/voice-cohort.json": "voxwatch/models/voice-cohort.json",
          "voxwatch/configs/default.toml": "configs/default.toml",
          "voxwatch/configs/voxwatch.service": "configs/voxwatch.service",
          "voxwatch/configs/voxwatch-user.service": "configs/voxwatch-user.service",
          "voxwatch/demo/ljspeech-LJ050-0033.flac": "voxwatch/demo/ljspeech-LJ050-0033.flac"}

# what moved from voxwatch/training to lab/ (issue 35, "The lab leaves the product"): none of it ships again
LAB_MODULES = {"generators", "compare_models", "select_rules", "set_views", "card_splits", "member"}


def test_the_wheel_holds_the_models_the_default_config_and_the_units(tmp_path):
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel = next(tmp_path.glob("voxwatch-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for inside, source in NEEDED.items():
            assert inside in names, inside
            assert archive.read(inside) == (REPO / source).read_bytes(), inside  # the file, not a symlink
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "voxwatch = voxwatch.cli:main" in archive.read(entry_points).decode()
    # the product alone: the package and its metadata (no lab/, tests/ or script/), and its modules are exactly
    # those of voxwatch/ here (nothing stale from an earlier build), none of them one that moved to the lab
    dist_info = entry_points.split("/")[0]
    assert {name.split("/")[0] for name in names} == {"voxwatch", dist_info}, sorted(names)
    modules = {name for name in names if name.endswith(".py")}
    sources = {path.relative_to(REPO).as_posix() for path in (REPO / "voxwatch").rglob("*.py")}
    assert modules == sources, (sorted(modules - sources), "setuptools reuses build/lib: a stale one? rm -rf build")
    assert not [name for name in modules if name.startswith("voxwatch/training/")
                and name.split("/")[2].removesuffix(".py") in LAB_MODULES]
