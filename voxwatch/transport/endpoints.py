"""ZeroMQ endpoints: the broker's defaults, and whether an endpoint stays on this host.

Binding beyond loopback without CURVE is allowed but warned about (publisher, broker, metrics), so the
loopback test lives here, below all of them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlparse

from voxwatch.errors import VoxwatchError

DEFAULT_FRONTEND = "tcp://127.0.0.1:5557"  # the broker's side where daemons connect their publishers
DEFAULT_BACKEND = "tcp://127.0.0.1:5558"  # the broker's side where consumers subscribe


_TCP = re.compile(r"(?:ws|wss|tcp|udp|pgm|epgm)://(?:[^;/]+;)?(\[[0-9A-Fa-f:.]+\]|[^:/\[\];]+):(\*|\d{1,5})(/.*)?")


def check_endpoints(urls: Iterable[str]) -> None:
    """Refuse an endpoint ZeroMQ could not use, with one line naming it, before any socket sees it (ZeroMQ's own
    "Invalid argument" says neither which value nor what was expected)."""
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in ("ipc", "inproc") and len(url) > len(parsed.scheme) + 3:
            continue
        match = _TCP.fullmatch(url)
        if match and (match.group(2) == "*" or int(match.group(2)) <= 65535):
            continue
        raise VoxwatchError(f"invalid endpoint {url!r}: expected tcp://HOST:PORT (PORT may be * when binding), "
                            "ipc://PATH or inproc://NAME")


def is_loopback_endpoint(url: str) -> bool:
    """True for ipc://, inproc:// and tcp:// endpoints on a loopback address or name."""
    parsed = urlparse(url)
    if parsed.scheme in ("ipc", "inproc"):
        return True
    host = (parsed.hostname or "").strip("[]")
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
