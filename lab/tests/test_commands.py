"""Every lab tool runs as ``python -m lab.<module>`` from the checkout's root, where the lab is found without being
installed (the wheel holds none of it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts)
                  for path in (ROOT / "lab").rglob("*.py")
                  if "tests" not in path.parts and 'if __name__ == "__main__":' in path.read_text())


def test_the_tools_of_lab_readme_are_all_found():
    assert len(COMMANDS) >= 15 and {"lab.data.build_data", "lab.recipes.compare_models", "lab.card_splits"} <= set(
        COMMANDS)
    readme = (ROOT / "lab" / "README.md").read_text()
    assert not [module for module in COMMANDS if f"python -m {module} " not in readme
                and f"python3 -m {module} " not in readme]


@pytest.mark.parametrize("module", COMMANDS)
def test_python_m_runs_from_the_checkout_root(module):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # the root alone finds it
    proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: ")


def test_a_missing_set_is_one_error_line_not_a_traceback(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    for module in ("lab.voice_eval", "lab.encoder_compare"):
        command = ["scoring", "--data", str(tmp_path / "missing")] if module == "lab.voice_eval" else [
            "separation", "--data", str(tmp_path / "missing"), "--models", str(tmp_path), "--cache", str(tmp_path)]
        proc = subprocess.run([sys.executable, "-m", module, *command], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
