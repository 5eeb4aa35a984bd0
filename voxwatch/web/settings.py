"""The web server's settings in one frozen dataclass, and the rule that guards its bind address."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxwatch.config import DEFAULT_PUBLISH_URL
from voxwatch.errors import VoxwatchError
from voxwatch.transport.endpoints import is_loopback_endpoint

MIN_TOKEN_CHARS = 16  # a guessable token would make a non-loopback bind look safe when it is not


@dataclass(frozen=True)
class WebSettings:
    """What ``voxwatch web`` serves and how. ``token`` None: no token (allowed on loopback only)."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    max_upload_mb: float = 20.0  # bytes of one upload (the whole request body)
    max_duration_s: float = 600.0  # decoded audio of one upload
    evidence_dir: Path = Path(".")
    voices_dir: Path = Path(".")  # clone watch's voiceprints (the Voices page)
    connect: tuple[str, ...] = (DEFAULT_PUBLISH_URL,)
    page_size: int = 20  # evidence clips per page

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0 or self.max_duration_s <= 0 or self.page_size <= 0:
            raise VoxwatchError("--max-upload-mb, --max-duration-s and the page size must be > 0")
        if not 0 <= self.port <= 65535:
            raise VoxwatchError(f"--port must be in 0..65535, not {self.port}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.host)

    def check_bind(self) -> None:
        """Binding beyond loopback needs a token: the pages and the API must not be open to the network."""
        if self.token is None and not self.loopback:
            raise VoxwatchError(f"binding {self.host} (not loopback) needs --token or --token-file; every page and "
                                "API call must then carry that token")
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise VoxwatchError(f"the token must have at least {MIN_TOKEN_CHARS} characters (e.g. python3 -c "
                                "'import secrets; print(secrets.token_urlsafe())')")


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; an empty host or 0.0.0.0 (every interface) is not loopback."""
    bare = host.strip("[]")
    return bool(bare) and is_loopback_endpoint(f"tcp://[{bare}]:0" if ":" in bare else f"tcp://{bare}:0")


def read_token_file(path: str) -> str:
    """The token from its file (surrounding whitespace dropped), or one clear error."""
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise VoxwatchError(f"--token-file {path}: {exc.strerror or exc}") from None
    if not token:
        raise VoxwatchError(f"--token-file {path}: the file is empty")
    return token
