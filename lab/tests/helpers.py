"""What the lab's tests share: skip rules that name the lab's requirements, and a gettext catalogue writer.

Synthetic speech and WAV files come from the product's test helpers (``tests.helpers``), the rule for a missing
program from ``tests.conftest``: one rule, CI's ``VOXWATCH_REQUIRE_ALL_TESTS`` included.
"""

from __future__ import annotations

import struct
from pathlib import Path

from tests.conftest import require_module as product_require_module
from tests.conftest import require_tool  # noqa: F401 (re-exported: the lab's tests import their helpers from here)


def require_module(*names: str, install: str = "pip install -r lab/requirements.txt") -> None:
    """The product tests' skip rule (tests/conftest.py), with the lab's install line by default."""
    product_require_module(*names, install=install)


def write_mo(path: Path, pairs: dict[str, str]) -> None:
    """A minimal GNU gettext catalogue (the format msgfmt writes), so tests need no gettext tools."""
    pairs = {"": "Content-Type: text/plain; charset=UTF-8\n", **pairs}
    keys = sorted(pairs)
    ids = b"".join(k.encode() + b"\0" for k in keys)
    strs = b"".join(pairs[k].encode() + b"\0" for k in keys)
    start = 7 * 4 + 16 * len(keys)
    offsets, table_ids, table_strs = start, [], []
    for k in keys:
        table_ids.append((len(k.encode()), offsets))
        offsets += len(k.encode()) + 1
    for k in keys:
        table_strs.append((len(pairs[k].encode()), offsets))
        offsets += len(pairs[k].encode()) + 1
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    body = b"".join(struct.pack("<2I", *t) for t in table_ids + table_strs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body + ids + strs)
