"""CURVE machinery for the event sockets (ZeroMQ's own, libsodium via pyzmq): keys, allow-list, socket set-up.

Roles follow the direction of the connection, not of the data:

* **server** (the side that binds: the broker's two sockets, a daemon that binds its publisher): holds its own key
  pair (``--curve-secret``) and accepts only clients whose public key file is in an allow-list directory
  (``--curve-allow DIR``), checked by a ZAP authenticator (``zmq.auth.thread.ThreadAuthenticator``). A client with an
  unknown key fails the handshake, so it receives nothing; that is logged with its public key.
* **client** (the side that connects: tail, monitor, a daemon joining a broker): holds its own key pair and the
  server's public key (``--curve-server-key``).

Key files are the ZeroMQ certificate format written by ``zmq.auth.create_certificates``: ``NAME.key`` (public, to
copy to peers) and ``NAME.key_secret`` (public + secret, mode 0600, stays on its host).

Commands do not use this module directly but ``voxwatch.commands.curve_options`` (arguments -> configure_socket), which
imports it only when CURVE is asked for, so ``voxwatch --help`` does not load ZeroMQ.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

import zmq

from voxwatch.errors import CurveError
from voxwatch.transport.peers import PeerWatcher
from voxwatch.transport.ratelog import RateLimitedLog

log = logging.getLogger(__name__)
ZAP_DOMAIN = "voxwatch"


# ---------------------------------------------------------------------------------------------------------- keys
def generate_keys(directory: str | os.PathLike, name: str, force: bool = False) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` into ``directory``; the secret file is mode 0600 from the start.

    The pair is created in a private (0700) temporary directory next to the target and moved into place, so the
    secret is never readable by others, not even for a moment. Existing files are kept unless ``force``.
    """
    if not name or Path(name).name != name or name.startswith("."):
        raise CurveError(f"keys: invalid key name {name!r} (a plain file name, e.g. the host name)")
    target = Path(directory).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    public, secret = target / f"{name}.key", target / f"{name}.key_secret"
    existing = [str(p) for p in (public, secret) if p.exists()]
    if existing and not force:
        raise CurveError(f"keys: {', '.join(existing)} already exist (use --force to replace them)")
    import zmq.auth

    staging = Path(tempfile.mkdtemp(prefix=".voxwatch-keys-", dir=target))  # mkdtemp makes it 0700
    try:
        made_public, made_secret = zmq.auth.create_certificates(staging, name)
        os.chmod(made_secret, stat.S_IRUSR | stat.S_IWUSR)
        os.chmod(made_public, 0o644)
        os.replace(made_secret, secret)
        os.replace(made_public, public)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return public, secret


def load_key_pair(path: str | os.PathLike) -> tuple[bytes, bytes]:
    """(public, secret) z85 keys from a ``.key_secret`` file; warns when others can read it."""
    import zmq.auth

    path = Path(path).expanduser()
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise CurveError(f"cannot read CURVE key file {path}: {exc}") from None
    if not secret:
        raise CurveError(f"{path} holds no secret key (pass the NAME.key_secret file, not NAME.key)")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("CURVE secret key %s is readable by other users (mode %o); chmod 600 it", path, mode & 0o777)
    return public, secret


def load_public_key(path: str | os.PathLike) -> bytes:
    """The z85 public key from a ``.key`` (or ``.key_secret``) file."""
    import zmq.auth

    path = Path(path).expanduser()
    try:
        public, _ = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise CurveError(f"cannot read CURVE public key file {path}: {exc}") from None
    return public


class AllowList:
    """Public keys (``*.key`` files) in a directory, re-read when the directory changes, so adding or removing a
    client's key needs no restart (it applies from that client's next handshake). Used as the ZAP authenticator's
    credentials provider; denials are logged (rate-limited)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory).expanduser()
        if not self.directory.is_dir():
            raise CurveError(f"CURVE allow-list {self.directory} is not a directory of public key (*.key) files")
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        self._keys: frozenset[bytes] = frozenset()
        self.denied = 0
        self.allowed = 0
        self._warn = RateLimitedLog(log)
        self._reload()
        if not self._keys:
            log.warning("CURVE allow-list %s holds no *.key files: every client will be refused", self.directory)

    def _reload(self) -> None:
        import zmq.auth

        try:
            files = sorted(self.directory.glob("*.key"))
            stamp = (self.directory.stat().st_mtime_ns, *(f.stat().st_mtime_ns for f in files))
        except OSError:
            return
        if stamp == self._stamp:
            return
        keys = set()
        for file in files:
            try:
                keys.add(zmq.auth.load_certificate(file)[0])
            except (OSError, ValueError) as exc:
                log.warning("skipping unreadable public key %s: %s", file, exc)
        self._keys, self._stamp = frozenset(keys), stamp

    def __contains__(self, key: bytes) -> bool:
        return key in self._keys

    def callback(self, domain: str, key: bytes) -> bool:  # noqa: ARG002 - ZAP credentials-provider signature
        with self._lock:
            self._reload()  # a few stat calls per handshake: added and removed key files count at once
            if key in self._keys:
                self.allowed += 1
                return True
            self.denied += 1
        text = key.decode("ascii", "replace")
        self._warn.warn(text, "refused a CURVE client with unknown public key %s (not in %s): it gets no events",
                        text, self.directory)
        return False


# ------------------------------------------------------------------------------------------------ socket setup
class CurveServer:
    """``configure_socket`` for a binding socket: CURVE server + ZAP allow-list (one authenticator per context)."""

    role = "server"

    def __init__(self, secret_file: str | os.PathLike, allow_dir: str | os.PathLike) -> None:
        self.public, self.secret = load_key_pair(secret_file)
        self.allow = AllowList(allow_dir)
        self._authenticators: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.watchers: list[PeerWatcher] = []

    def _ensure_authenticator(self, context: zmq.Context) -> None:
        from zmq.auth.thread import ThreadAuthenticator

        with self._lock:
            if id(context) in self._authenticators:
                return
            auth = ThreadAuthenticator(context, log=logging.getLogger(f"{__name__}.zap"))
            try:
                auth.start()
            except zmq.ZMQError as exc:
                raise CurveError(f"cannot start the CURVE authenticator ({exc}): one per process") from None
            auth.configure_curve_callback(ZAP_DOMAIN, credentials_provider=self.allow)
            self._authenticators[id(context)] = auth

    def __call__(self, sock: zmq.Socket, label: str = "") -> None:
        self._ensure_authenticator(sock.context)
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN.encode())
        watcher = PeerWatcher("server", label)
        watcher.watch(sock)
        self.watchers.append(watcher)

    def close(self) -> None:
        """Stop the authenticator thread(s); call after the sockets are closed, before terminating the context."""
        with self._lock:
            for auth in self._authenticators.values():
                auth.stop()
            self._authenticators.clear()


class CurveClient:
    """``configure_socket`` for a connecting socket: our key pair and the server's public key."""

    role = "client"

    def __init__(self, secret_file: str | os.PathLike, server_key_file: str | os.PathLike) -> None:
        self.public, self.secret = load_key_pair(secret_file)
        self.server_key = load_public_key(server_key_file)
        self.watchers: list[PeerWatcher] = []

    def __call__(self, sock: zmq.Socket, label: str = "") -> None:
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SERVERKEY, self.server_key)
        watcher = PeerWatcher("client", label)
        watcher.watch(sock)
        self.watchers.append(watcher)

    def close(self) -> None:
        """Nothing to stop (kept so callers can close either role)."""


def uses_curve(sock: zmq.Socket) -> bool:
    """Whether a socket has been set up for CURVE (by either role)."""
    return sock.getsockopt(zmq.MECHANISM) == zmq.CURVE
