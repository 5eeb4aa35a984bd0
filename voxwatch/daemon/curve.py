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

Commands do not use this module directly but ``voxwatch.daemon.security`` (arguments -> configure_socket), which
imports it only when CURVE is asked for, so ``voxwatch --help`` does not load ZeroMQ.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from voxwatch.daemon.ratelog import RateLimitedLog
from voxwatch.daemon.security import CurveError

log = logging.getLogger(__name__)
ZAP_DOMAIN = "voxwatch"
_PEER_EVENTS = (zmq.EVENT_ACCEPTED | zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_MONITOR_STOPPED
                | zmq.EVENT_CONNECT_DELAYED | zmq.EVENT_CONNECT_RETRIED
                | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


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


# ---------------------------------------------------------------------------------------------------- watching
class PeerWatcher:
    """Follows a socket's monitor events: counts peers, logs failed handshakes (plain client, wrong key), and
    notices connections ZeroMQ gave up on.

    ``watch(sock)`` starts a small daemon thread that owns the monitor's PAIR socket (the watched socket stays with
    its own thread); the thread ends when the socket closes (MONITOR_STOPPED) or the context terminates.
    A socket has one monitor: watching it again replaces the previous watcher.

    Given up: after a protocol error (a peer sent a frame over MAXMSGSIZE, or garbage) libzmq drops a *connecting*
    socket's session for good, with no reconnect (DISCONNECTED and no CONNECT_RETRIED after it). ``take_lost``
    returns such endpoints so the socket's owner can connect again.
    """

    _ids = itertools.count()

    def __init__(self, role: str, label: str = "") -> None:
        self.role = role
        self.label = label
        self._live: set[int] = set()  # file descriptors of open connections
        self._lost: dict[str, float] = {}  # endpoint -> monotonic time of a disconnect not (yet) retried
        self._lost_lock = threading.Lock()
        self.handshake_failures = 0
        self.auth_failures = 0
        self._warn = RateLimitedLog(log)

    @property
    def connected(self) -> int:
        """Open connections (a peer failing its handshake is counted until it is dropped, a moment later)."""
        return len(self._live)

    def take_lost(self, grace_s: float = 0.5) -> list[str]:
        """Endpoints disconnected more than ``grace_s`` ago that ZeroMQ is not reconnecting (each returned once)."""
        now = time.monotonic()
        with self._lost_lock:
            lost = [endpoint for endpoint, at in self._lost.items() if now - at > grace_s]
            for endpoint in lost:
                del self._lost[endpoint]
        return lost

    def watch(self, sock: zmq.Socket) -> None:
        address = f"inproc://voxwatch-monitor-{os.getpid()}-{next(self._ids)}"
        sock.monitor(address, _PEER_EVENTS)
        context = sock.context
        ready = threading.Event()
        thread = threading.Thread(target=self._run, args=(context, address, ready),
                                  name=f"voxwatch-monitor-{self.label or self.role}", daemon=True)
        thread.start()
        ready.wait(2.0)

    def _run(self, context: zmq.Context, address: str, ready: threading.Event) -> None:
        from zmq.utils.monitor import recv_monitor_message

        pair = context.socket(zmq.PAIR)
        pair.setsockopt(zmq.LINGER, 0)
        try:
            pair.connect(address)
            ready.set()
            while True:
                event = recv_monitor_message(pair)
                if event["event"] == zmq.EVENT_MONITOR_STOPPED:
                    return
                self.handle(event)
        except zmq.ZMQError:
            return  # context terminated
        finally:
            ready.set()
            pair.close(0)

    def handle(self, event: dict[str, Any]) -> None:
        kind, value = event["event"], event["value"]
        endpoint = event.get("endpoint", b"")
        endpoint = endpoint.decode(errors="replace") if isinstance(endpoint, bytes) else str(endpoint)
        where = f"{self.label} {endpoint}".strip()
        if kind in (zmq.EVENT_ACCEPTED, zmq.EVENT_CONNECTED):
            self._live.add(value)
        if kind in (zmq.EVENT_CONNECTED, zmq.EVENT_CONNECT_DELAYED, zmq.EVENT_CONNECT_RETRIED):
            with self._lost_lock:
                self._lost.pop(endpoint, None)
        elif kind == zmq.EVENT_DISCONNECTED:
            self._live.discard(value)
            if self.role == "client":
                with self._lost_lock:
                    self._lost[endpoint] = time.monotonic()
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self.auth_failures += 1
            if self.role == "client":
                self._warn.warn(f"auth {endpoint}", "the server at %s refused our CURVE key (is our public key in "
                                "its --curve-allow directory?): no events will arrive", where)
            # server side: the allow-list already logged the refused key
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:  # value is an errno: the peer went away mid-handshake
            self.handshake_failures += 1
            reason = ("a peer broke off the handshake (a plain client without CURVE, or a wrong server key?) and "
                      "gets no events" if self.role == "server" else "the handshake broke off (does the server use "
                      "CURVE with the key given as --curve-server-key?)")
            self._warn.warn(f"nodetail {endpoint}", "%s on %s: %s (errno %d)", self.role, where, reason, value)
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            self.handshake_failures += 1
            if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                reason = ("a peer without CURVE (plain client?) was refused" if self.role == "server"
                          else "the peer does not use CURVE (or uses it without us)")
            elif value == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
                reason = ("a peer failed the CURVE handshake (wrong server key?) and was refused"
                          if self.role == "server" else "CURVE handshake failed: is --curve-server-key the right key?")
            else:
                reason = f"handshake failed (ZeroMQ protocol error {value:#x})"
            self._warn.warn(f"{kind} {value} {endpoint}", "%s on %s: %s", self.role, where, reason)


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
