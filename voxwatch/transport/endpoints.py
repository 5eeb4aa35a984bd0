"""ZeroMQ endpoints: the broker's defaults, and whether an endpoint stays on this host.

Binding beyond loopback without CURVE is allowed but warned about (publisher, broker, metrics), so the
loopback test lives here, below all of them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

DEFAULT_FRONTEND = "tcp://127.0.0.1:5557"  # the broker's side where daemons connect their publishers
DEFAULT_BACKEND = "tcp://127.0.0.1:5558"  # the broker's side where consumers subscribe


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
