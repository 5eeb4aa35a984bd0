"""``WebhookSink``: POST each event's JSON to a URL (standard library only: ``urllib.request`` and ``ssl``).

HTTPS certificates are verified (the system's CA store, or ``cafile`` for a private CA); there is deliberately
no switch to turn verification off, since an alert stream tells whoever intercepts it what is being watched.
Server errors (5xx), timeouts and refused connections are retried by the ``Delivery``; a 4xx other than 408 and
429 means the request itself is wrong (a bad token, a wrong path), so it is not retried.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from voxwatch import __version__
from voxwatch.errors import ConfigError
from voxwatch.notify.delivery import DeliveryError

_RETRYABLE_4XX = (408, 425, 429)


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``; a ConfigError for anything else."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ConfigError(f"--header {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


class WebhookSink:
    """One webhook URL. ``send`` POSTs ``body`` with ``Content-Type: application/json`` and the extra headers."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout_s: float = 5.0,
                 cafile: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--webhook {url!r}: expected an http:// or https:// URL")
        if timeout_s <= 0:
            raise ConfigError("the receiver timeout must be > 0 seconds")
        self.url = url
        self.name = f"webhook {parts.scheme}://{parts.netloc}{parts.path}"  # no query: it may hold a token
        self.timeout_s = timeout_s
        self.headers = {"Content-Type": "application/json", "User-Agent": f"voxwatch/{__version__}",
                        **(headers or {})}
        try:
            self._tls = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"--cafile {cafile}: cannot load CA certificates: {exc}") from None

    def open(self) -> None:
        """Nothing to open: each event is a request of its own."""

    def close(self) -> None:
        """Nothing held between events."""

    def send(self, event: dict[str, Any], body: bytes) -> None:
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=self._tls) as response:
                response.read(65536)  # let the server finish its answer; its content does not matter
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in _RETRYABLE_4XX
            raise DeliveryError(f"HTTP {exc.code} {exc.reason}", permanent=permanent) from None
        except urllib.error.URLError as exc:
            raise DeliveryError(f"cannot reach the receiver: {exc.reason}") from None
        except TimeoutError:
            raise DeliveryError(f"no answer within {self.timeout_s:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from None
