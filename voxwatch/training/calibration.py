"""Site calibration: a threshold that keeps false alarms under a budget on the site's own real audio.

The shipped threshold is chosen on the evaluation sets; a site's microphones, rooms and speakers differ. Given
recordings known to be real, ``calibrate`` replays them through the daemon path (``alarms.trace_clips``) and
picks the lowest threshold whose alerts stay within the budget (``alarms.threshold_for_false_alarms``). What that
costs is read off the model card's operating curves (fake utterances caught at each threshold on the evaluation
sets, written by ``voxwatch eval --write-card``), so no labelled fakes are needed at the site.

With the cascade's verifier loaded, it is the verifier's threshold that is chosen (at the configured gate, the
filter's threshold unchanged): every utterance also gets the verifier's score, and the budget is searched over
those; the cost is read off the verifier card's operating curves. The result is then also a ``[verifier]`` table.

The result is a ``[decision]`` table; with a base config its other sections and comments are kept as they are.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict
from typing import Any

from voxwatch.pipeline.decision import DecisionSettings

_SECTION = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def round_up(threshold: float, digits: int = 6) -> float:
    """The threshold as written to the config: rounded up, so that what was quiet enough stays quiet enough."""
    scale = 10**digits
    return min(1.0, math.ceil(threshold * scale) / scale)


def _toml_item(key: str, value: Any) -> str:
    if isinstance(value, str):
        return f'{key} = "{value}"'
    if isinstance(value, bool):
        return f"{key} = {str(value).lower()}"
    return f"{key} = {value}"


def decision_table(settings: DecisionSettings, threshold: float, notes: list[str]) -> str:
    """A ``[decision]`` TOML table with every rule spelt out (comments first), ending in a newline."""
    lines = [f"# {note}" for note in notes] + ["[decision]", f"threshold = {round_up(threshold):.6f}"]
    for key, value in asdict(settings).items():
        if key == "threshold":
            continue
        lines.append(_toml_item(key, value))
    return "\n".join(lines) + "\n"


def verifier_table(base: dict[str, Any], threshold: float, notes: list[str], key: str = "threshold") -> str:
    """A ``[verifier]`` TOML table: the configured settings with the calibrated threshold (``key``: ``threshold``
    or ``telephone_threshold``; comments first)."""
    lines = [f"# {note}" for note in notes] + ["[verifier]"]
    calibrated = key
    for key, value in base.items():
        if key == calibrated:
            value = round_up(threshold)
        if value is None:
            value = "model"
        lines.append(_toml_item(key, value))
    return "\n".join(lines) + "\n"


def with_decision(base: str, table: str, section: str = "decision") -> str:
    """``base`` TOML text with its ``[section]`` table (if any) replaced by ``table``; appended otherwise."""
    lines = base.splitlines(keepends=True)
    start = end = None
    for i, line in enumerate(lines):
        match = _SECTION.match(line)
        if match and start is None and match.group(1).strip() == section:
            start = i
        elif match and start is not None and end is None:
            end = i
    if start is None:
        return base + ("" if base.endswith("\n") or not base else "\n") + "\n" + table
    end = len(lines) if end is None else end
    while end > start + 1 and lines[end - 1].lstrip().startswith("#"):  # comments above the next table stay
        end -= 1
    return "".join(lines[:start]) + table + ("\n" if end < len(lines) else "") + "".join(lines[end:])


def catch_rate_at(curves: dict[str, Any], threshold: float) -> dict[str, float]:
    """Fake utterances caught at ``threshold`` on each evaluation set of the card's operating curves
    (``{set: [[threshold, false alarms per hour, catch rate], ...]}``, thresholds ascending): the point at the
    highest curve threshold not above ``threshold`` (catching only falls as the threshold rises)."""
    out = {}
    for name, points in curves.items():
        below = [p for p in points if p[0] <= threshold]
        if below:
            out[name] = float(below[-1][2])
    return out
