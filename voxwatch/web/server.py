"""Serving the application with uvicorn on a socket we bind ourselves, so ``--port 0`` works (the port the system
chose is printed before serving: scripts and tests read it) and a busy port is one clear error."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import Any

from voxwatch.errors import VoxwatchError
from voxwatch.web.settings import WebSettings


def bind(settings: WebSettings) -> socket.socket:
    host = settings.host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, settings.port))
    except OSError as exc:
        sock.close()
        raise VoxwatchError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(app: Any, settings: WebSettings, log_level: str = "warning",
          on_exit: Callable[[], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM. ``on_exit`` runs as the shutdown begins: it must end the responses that
    never end by themselves (the Live page's event streams), which uvicorn would otherwise wait for and then
    cancel with a traceback."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if on_exit is not None:
                on_exit()
            super().handle_exit(sig, frame)

    sock = bind(settings)
    port = sock.getsockname()[1]
    shown = f"[{settings.host.strip('[]')}]" if ":" in settings.host else settings.host
    print(f"voxwatch web: http://{shown}:{port}/ (Analyze, Live, Evidence; API under /api/)", flush=True)
    if settings.token is not None:
        print("voxwatch web: the token is required: API clients send 'Authorization: Bearer TOKEN', browsers log in "
              "once", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=2, access_log=False,
                            proxy_headers=False, server_header=False)
    Server(config).run(sockets=[sock])
