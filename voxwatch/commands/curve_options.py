"""CURVE on the command line: the three arguments every networked command takes, turned into a socket hook.

A command adds them with ``add_curve_arguments(parser)`` and gets its ``configure_socket`` with
``curve_from_args(args, binds=..., connects=...)``, which it passes to ``EventPublisher``, ``EventSubscriber`` or the
broker; ``None`` means plain sockets. The side that binds is the CURVE server (needs ``--curve-secret`` and
``--curve-allow DIR``); the side that connects is a client (``--curve-secret`` and ``--curve-server-key FILE``).
The machinery (keys, ZAP allow-list, handshake logging) is in ``voxwatch.transport.curve``, imported only when used.
Key set-up: README, "Running a fleet".
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from voxwatch.errors import CurveError

if TYPE_CHECKING:
    from voxwatch.transport.curve import CurveClient, CurveServer

log = logging.getLogger(__name__)


def add_curve_arguments(parser: argparse.ArgumentParser) -> None:
    """``--curve-secret``, ``--curve-server-key`` and ``--curve-allow`` (see README "Running a fleet")."""
    group = parser.add_argument_group("CURVE encryption and authentication (voxwatch keys generate DIR)")
    group.add_argument("--curve-secret", metavar="FILE",
                       help="our key pair (NAME.key_secret); turns CURVE on")
    group.add_argument("--curve-server-key", metavar="FILE",
                       help="when connecting: the server's (broker's or daemon's) public key file NAME.key")
    group.add_argument("--curve-allow", metavar="DIR",
                       help="when binding: directory of the public keys (*.key) of clients allowed to connect")


def curve_from_args(args: argparse.Namespace, *, binds: bool, connects: bool) -> CurveServer | CurveClient | None:
    """The ``configure_socket`` callable for a command's socket, or None when CURVE is off.

    ``binds``/``connects`` say what the socket will do; a socket that does both cannot be both CURVE server and
    client through one configure hook, so that combination is refused.
    """
    secret = getattr(args, "curve_secret", None)
    server_key = getattr(args, "curve_server_key", None)
    allow = getattr(args, "curve_allow", None)
    if not secret:
        if server_key or allow:
            raise CurveError("--curve-server-key and --curve-allow need --curve-secret (our own key pair)")
        return None
    if binds and connects:
        raise CurveError("CURVE on a socket that both binds and connects is not supported: use one of them")
    if binds:
        if not allow:
            raise CurveError("binding with --curve-secret needs --curve-allow DIR (the clients' public keys)")
        if server_key:
            log.warning("--curve-server-key is ignored when binding (this side is the CURVE server)")
        from voxwatch.transport.curve import CurveServer

        return CurveServer(secret, allow)
    if not server_key:
        raise CurveError("connecting with --curve-secret needs --curve-server-key FILE (the server's public key)")
    if allow:
        log.warning("--curve-allow is ignored when connecting (this side is a CURVE client)")
    from voxwatch.transport.curve import CurveClient

    return CurveClient(secret, server_key)
