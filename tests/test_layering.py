"""The package layers stay true: a lower layer never imports a higher one (docs/architecture.md, Layout), and the
product never imports the lab (lab/: experiments only, outside the wheel).

Every ``import`` in every module counts, also those inside functions (commands import lazily), because a lazy
import upward is still a dependency upward.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import voxwatch

ROOT = Path(voxwatch.__file__).resolve().parent

# what each part of voxwatch must not import (parts are the first name under voxwatch: a package or a module)
_ABOVE_PIPELINE = {"transport", "daemon", "monitor", "notify", "bench", "commands", "cli", "training", "config",
                   "model_loading", "detector", "web"}
FORBIDDEN: dict[str, set[str]] = {
    "errors": {"*"},
    "models": {"*"},
    "configs": {"*"},
    "pipeline": _ABOVE_PIPELINE,
    # clone watch's voiceprints, enrolment and checks: on the pipeline's speaker encoder, below every front end
    "voices": _ABOVE_PIPELINE,
    "config": _ABOVE_PIPELINE - {"config"},
    "model_loading": _ABOVE_PIPELINE - {"config", "model_loading"},
    "detector": _ABOVE_PIPELINE - {"config", "model_loading", "detector"},
    "transport": {"daemon", "monitor", "notify", "bench", "commands", "cli", "training", "detector", "web"},
    "monitor": {"daemon", "notify", "bench", "commands", "cli", "training", "detector", "web"},
    "notify": {"daemon", "monitor", "bench", "commands", "cli", "training", "detector", "web"},
    "daemon": {"monitor", "notify", "bench", "commands", "cli", "training", "web"},
    "training": {"transport", "daemon", "monitor", "notify", "bench", "commands", "cli", "web"},
    # the benchmarks measure the daemon as it ships: they build their pipeline with its wiring (daemon/wiring.py)
    "bench": {"monitor", "notify", "commands", "cli", "training", "web"},
    # web sits on top beside the commands: it may use every layer below, and only the web command imports it
    "web": {"commands", "cli", "training", "bench", "notify"},
    "commands": {"cli"},
}
ALLOWED_IN_STAR = {"errors"}  # what a part marked "*" may still import


def _part(module: str) -> str | None:
    names = module.split(".")
    return names[1] if names[0] == "voxwatch" and len(names) > 1 else None


def imported_modules(source: str, module: str) -> list[str]:
    """Every voxwatch module ``source`` imports, at any depth (relative imports resolved against ``module``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join(package + ([base] if base else []))
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names if base == "voxwatch"]
    return [name for name in found if name == "voxwatch" or name.startswith("voxwatch.")]


def violations(sources: dict[str, str]) -> list[str]:
    """``importer -> imported`` for every import that goes the wrong way."""
    wrong = []
    for module, source in sources.items():
        part = _part(module)
        rule = FORBIDDEN.get(part or "", set())
        for target in imported_modules(source, module):
            target_part = _part(target)
            if target_part is None or target_part == part or target == "voxwatch":
                continue
            if target_part == "commands" and part != "cli":
                wrong.append(f"{module} -> {target}")
            elif target_part == "web" and module != "voxwatch.commands.web":
                wrong.append(f"{module} -> {target}")
            elif target_part in rule or ("*" in rule and target_part not in ALLOWED_IN_STAR):
                wrong.append(f"{module} -> {target}")
    return wrong


def package_sources() -> dict[str, str]:
    sources = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT.parent).with_suffix("")
        names = list(relative.parts)
        if names[-1] == "__init__":
            names.pop()
        sources[".".join(names)] = path.read_text()
    return sources


def test_no_layer_imports_a_higher_one():
    assert violations(package_sources()) == []


def lab_imports(sources: dict[str, str]) -> list[str]:
    """``importer -> imported`` for every import of the lab (``lab``, ``lab.<module>``) at any depth: the wheel holds no
    lab, so such an import breaks an install."""
    wrong = []
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            wrong += [f"{module} -> {name}" for name in names if name == "lab" or name.startswith("lab.")]
    return wrong


def test_voxwatch_never_imports_the_lab():
    assert lab_imports(package_sources()) == []


def test_the_lab_check_catches_a_planted_import():
    sources = package_sources()
    planted = {"voxwatch.training.train": sources["voxwatch.training.train"]
               + "\n\ndef _leak():\n    from lab.data.build_data import unit\n",
               "voxwatch.commands.eval": "import lab.recipes.select_rules as rules\n",
               "voxwatch.cli": "from lab import card_splits\n",
               "voxwatch.pipeline.vad": "import labels\nfrom .lab import x\nfrom voxwatch.training import lab_notes\n"}
    assert sorted(lab_imports(planted)) == ["voxwatch.cli -> lab",
                                            "voxwatch.commands.eval -> lab.recipes.select_rules",
                                            "voxwatch.training.train -> lab.data.build_data"]


def test_the_check_catches_a_planted_wrong_way_import():
    sources = package_sources()
    assert "voxwatch.pipeline.runner" in sources
    planted = dict(sources)
    leak = "\n\ndef _leak():\n    from voxwatch.transport.publisher import EventPublisher\n"
    planted["voxwatch.pipeline.runner"] += leak
    planted["voxwatch.training.model"] += "\nimport voxwatch.daemon.metrics\n"
    planted["voxwatch.daemon.metrics"] += "\nfrom voxwatch.commands import common\n"
    planted["voxwatch.pipeline.vad"] += "\nfrom .. import detector\n"
    assert sorted(violations(planted)) == sorted([
        "voxwatch.pipeline.runner -> voxwatch.transport.publisher",
        "voxwatch.training.model -> voxwatch.daemon.metrics",
        "voxwatch.daemon.metrics -> voxwatch.commands",
        "voxwatch.pipeline.vad -> voxwatch.detector",
    ])


def test_only_the_cli_imports_commands():
    planted = {"voxwatch.bench.report": "from voxwatch.commands.bench import run\n",
               "voxwatch.cli": "import voxwatch.commands.bench\n"}
    assert violations(planted) == ["voxwatch.bench.report -> voxwatch.commands.bench"]


def test_web_sits_on_top_and_only_its_command_loads_it():
    planted = {"voxwatch.daemon.service": "from voxwatch.web.app import create_app\n",
               "voxwatch.commands.run": "import voxwatch.web.live\n",
               "voxwatch.web.app": "from voxwatch.commands.common import require_torch\n",
               "voxwatch.web.live": "from voxwatch.monitor.state import MonitorState\n",
               "voxwatch.commands.web": "from voxwatch.web.app import create_app\n"}
    assert sorted(violations(planted)) == ["voxwatch.commands.run -> voxwatch.web.live",
                                           "voxwatch.daemon.service -> voxwatch.web.app",
                                           "voxwatch.web.app -> voxwatch.commands.common"]


_WITHOUT_WEB = """
import importlib.abc, sys
class NoWebStack(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("fastapi", "starlette", "uvicorn"):
            raise ImportError(f"{name} is blocked: this command must not load the web stack")
sys.meta_path.insert(0, NoWebStack())
from voxwatch.cli import main
code = main(sys.argv[1:])
print("web modules loaded:", sorted(m for m in sys.modules if m.startswith("voxwatch.web")))
sys.exit(code)
"""


@pytest.mark.parametrize("command", ["run", "replay", "score"])
def test_the_daemon_and_replay_run_without_the_web_stack(command, tmp_path):
    """The commands run with FastAPI, Starlette and uvicorn made unimportable, and load no ``voxwatch.web``: the
    daemon works without the web extra and stays as small as it was."""
    import subprocess
    import sys

    import numpy as np
    import soundfile as sf

    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.1 * np.sin(np.arange(16000) * 0.2)).astype(np.float32), 16000)
    args = {"run": ["run", "--device", "no-such-device-xyz", "--no-evidence", "--publish", "inproc://web-test"],
            "replay": ["replay", "--fast", "--no-publish", str(wav)],
            "score": ["score", str(wav)]}[command]
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_WEB, *args], capture_output=True, text=True, timeout=120)
    assert "web modules loaded: []" in proc.stdout, proc.stderr
    assert "Traceback" not in proc.stderr and "blocked" not in proc.stderr
    assert proc.returncode == (2 if command == "run" else 0), proc.stderr  # run: the device does not exist


def test_the_layout_in_docs_names_every_module():
    """docs/architecture.md's Layout is where a newcomer finds which module does what: a module missing from it is
    a module nobody can find."""
    layout = (ROOT.parent / "docs" / "architecture.md").read_text()
    modules = sorted(str(path.relative_to(ROOT)) for path in ROOT.rglob("*.py") if path.name != "__init__.py")
    assert len(modules) > 100
    named = {m for m in modules if re.search(rf"(^|[\s`/]){re.escape(Path(m).name)}($|[\s,`)])", layout, re.M)}
    assert [m for m in modules if m not in named] == []
