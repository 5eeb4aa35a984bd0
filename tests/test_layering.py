"""The package layers stay true: a lower layer never imports a higher one (docs/architecture.md, Layout).

Every ``import`` in every module counts, also those inside functions (commands import lazily), because a lazy
import upward is still a dependency upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

import voxwatch

ROOT = Path(voxwatch.__file__).resolve().parent

# what each part of voxwatch must not import (parts are the first name under voxwatch: a package or a module)
_ABOVE_PIPELINE = {"transport", "daemon", "monitor", "notify", "bench", "commands", "cli", "training", "config",
                   "model_loading", "detector"}
FORBIDDEN: dict[str, set[str]] = {
    "errors": {"*"},
    "models": {"*"},
    "configs": {"*"},
    "pipeline": _ABOVE_PIPELINE,
    "config": _ABOVE_PIPELINE - {"config"},
    "model_loading": _ABOVE_PIPELINE - {"config", "model_loading"},
    "detector": _ABOVE_PIPELINE - {"config", "model_loading", "detector"},
    "transport": {"daemon", "monitor", "notify", "bench", "commands", "cli", "training", "detector"},
    "monitor": {"daemon", "notify", "bench", "commands", "cli", "training", "detector"},
    "notify": {"daemon", "monitor", "bench", "commands", "cli", "training", "detector"},
    "daemon": {"monitor", "notify", "bench", "commands", "cli", "training"},
    "training": {"transport", "daemon", "monitor", "notify", "bench", "commands", "cli"},
    "bench": {"daemon", "monitor", "notify", "commands", "cli", "training"},
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
