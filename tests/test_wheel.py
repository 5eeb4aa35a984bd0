"""The README's Install section: ``python -m build`` makes a wheel that holds what an install needs without a
source checkout (the bundled models with their cards, the commented default config, the systemd units, the demo
recording), each byte for byte as in the repository."""

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
          "voxwatch/configs/default.toml": "configs/default.toml",
          "voxwatch/configs/voxwatch.service": "configs/voxwatch.service",
          "voxwatch/configs/voxwatch-user.service": "configs/voxwatch-user.service",
          "voxwatch/demo/ljspeech-LJ050-0033.flac": "voxwatch/demo/ljspeech-LJ050-0033.flac"}


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
