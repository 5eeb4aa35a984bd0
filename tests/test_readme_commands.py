"""The README's set-up commands are what CI runs: a new user's first commands must be the ones that pass."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def _commands(script: str) -> list[str]:
    """The script's commands, one string each (backslash continuations joined), comments left out."""
    joined = re.sub(r"\\\n\s*", " ", script)
    lines = [line.strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_ci_runs_exactly_the_readme_commands_after_its_system_packages():
    readme = _quick_start_commands()
    assert len(readme) == 2 and all(cmd.startswith("python3 -m venv .venv && ") for cmd in readme)
    ci = _commands((ROOT / ".ci" / "run").read_text())
    after_apt = ci[[i for i, line in enumerate(ci) if "apt-get install" in line][-1] + 1:]
    assert after_apt == readme  # nothing installed or run besides them (no extra pip install, no extra ruff)


def _setup_installs(command: str, tmp_path: Path) -> list[str]:
    """What the ``bash script/setup ...`` step of a README command asks pip for, run against a stand-in
    ``python3`` that records its arguments instead of installing."""
    setup = next(part.strip() for part in command.split("&&") if "script/setup" in part)
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    log = tmp_path / "calls.txt"
    (shim / "python3").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (shim / "python3").chmod(0o755)
    log.write_text("")
    subprocess.run(["bash", "-c", setup], cwd=ROOT, check=True, timeout=60,
                   env={**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"})
    return [line for line in log.read_text().splitlines() if line.startswith("-m pip install")]


def test_the_demo_command_installs_only_what_the_demo_needs(tmp_path):
    """No extras (torch alone is 1.4 GB and minutes) for a 3-second demo: the base install."""
    demo = _quick_start_commands()[0]
    assert demo.endswith("bash script/demo")
    assert _setup_installs(demo, tmp_path) == ["-m pip install -q ."]


def test_readme_test_command_installs_everything_and_runs_ruff_and_mypy(tmp_path):
    """The torch, MQTT, web and lab tests (vocoders, Lyra twins: lab/requirements.txt) and the linter run under the
    README's command itself, not only in CI."""
    installs = _setup_installs(_quick_start_commands()[1], tmp_path)
    pattern = r"-m pip install -q -e \.\[([a-z,]+)\] -r lab/requirements\.txt"
    extras = re.fullmatch(pattern, installs[0]) if len(installs) == 1 else None
    assert extras and {"dev", "train", "mqtt", "web"} <= set(extras.group(1).split(",")), installs
    commands = _commands((ROOT / "script" / "test").read_text())
    assert "ruff check ." in commands and "mypy" in commands, commands  # mypy: pyproject.toml names the package


def test_the_test_command_runs_the_lab_tests_too():
    """CI runs lab/tests beside tests/: pytest's testpaths name both, and script/test names no path of its own."""
    import tomllib

    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    assert set(testpaths) == {"tests", "lab/tests"}
    assert 'python3 -m pytest -q "$@"' in _commands((ROOT / "script" / "test").read_text())


DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md",
             ROOT / "lab" / "README.md", *sorted((ROOT / "lab" / "notes").glob("*.md"))]


def test_every_python_module_command_in_the_docs_names_a_module_that_exists():
    """Recipes moved to docs/, generators moved house, the lab left the package: each `python -m voxwatch...` and
    `python -m lab...` cited still runs, and none names a module that moved to the lab under its old name."""
    cited = {(doc.name, module) for doc in DOCUMENTS
             for module in re.findall(r"python3? -m ((?:voxwatch|lab)(?:\.\w+)+)", doc.read_text())}
    assert len(cited) >= 5 and any(module.startswith("lab.") for _, module in cited)  # really there to check
    missing = [(doc, module) for doc, module in cited
               if not (ROOT / (module.replace(".", "/") + ".py")).is_file()
               and not (ROOT / module.replace(".", "/") / "__main__.py").is_file()]
    assert not missing


def _anchors(doc: Path) -> set[str]:
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.*)$", doc.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_relative_links_between_the_readme_and_docs_resolve():
    """README and docs/ link each other and the figures; a moved section or file must not leave a dead link."""
    dead, checked = [], 0
    for doc in DOCUMENTS:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", doc.read_text()):
            if "://" in target:
                continue
            checked += 1
            path = doc.parent / target if target else doc
            if not path.exists() or (anchor and path.suffix == ".md" and anchor not in _anchors(path)):
                dead.append((doc.name, target, anchor))
    assert checked > 20 and not dead


def _quick_start() -> str:
    return (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]


def test_the_quick_start_says_what_the_setup_costs_and_where_the_tests_data_is():
    """A new user learns before running it how big and how long the full setup is, and that some tests read the
    shared corpus beside the checkout, under the very variable the tests read."""
    import web_helpers

    quick = " ".join(_quick_start().split())
    assert re.search(r"about \d+ MB to download", quick) and re.search(r"[\d.]+ GB in the venv", quick), quick
    assert re.search(r"about (a|\d+) minutes? on a 2-core VM", quick)  # the setup's time
    assert "../shared/data/corpus" in quick and "VOXWATCH_SHARED" in quick
    assert web_helpers.SHARED == Path(os.environ.get("VOXWATCH_SHARED", ROOT.parent / "shared"))


def test_the_quick_start_explains_filter_and_verifier_where_it_first_shows_them():
    paragraphs = _quick_start().split("\n\n")
    first = next(i for i, p in enumerate(paragraphs) if re.search(r"\bverifier\b|\bfilter\b", p))
    assert "**filter**" in paragraphs[first] and "**verifier**" in paragraphs[first], paragraphs[first]
