"""Safe by default, as three small ASGI middlewares (pure ASGI, so Server-Sent Events stream through untouched).

* ``TokenGuard``: with a token, every page and API call carries it: ``Authorization: Bearer TOKEN`` (scripts,
  curl) or the cookie the login form sets (browsers; ``HttpOnly``, ``SameSite=Strict`` so another site cannot
  make the browser use it). Compared with ``hmac.compare_digest``, in constant time. Only the static assets (no
  data in them) and the login form are public.
* ``BodyLimit``: a request body over the upload limit is answered 413 with a clear message: at once when its
  ``Content-Length`` says so, else as soon as the bytes received pass the limit (never read to its end).
* ``SecurityHeaders``: a Content-Security-Policy that allows only this server's own scripts, styles and
  connections (every asset is served by the package: no CDN), no framing, no referrer (a token in a URL
  must not leak), no MIME sniffing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "voxwatch_token"
PUBLIC_PREFIXES = ("/static/", "/login")
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                           "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
HEADERS = ((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"))


def token_matches(candidate: str | None, token: str) -> bool:
    """Constant-time comparison, so the time to refuse a guess says nothing about how much of it was right."""
    return candidate is not None and hmac.compare_digest(candidate.encode(), token.encode())


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def carried_token(scope: Scope) -> str | None:
    """The token a request carries: a Bearer header first, else the login cookie."""
    headers = _headers(scope)
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is the same as none
        return None
    morsel = cookie.get(TOKEN_COOKIE)
    return morsel.value if morsel else None


async def send_json(send: Send, status: int, body: dict[str, Any], extra: tuple = ()) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": payload})


class TokenGuard:
    """Refuse requests without the token (401): JSON for ``/api/``, the login page for the pages."""

    def __init__(self, app: ASGIApp, token: str | None, login_page: Callable[[], bytes]) -> None:
        self.app = app
        self.token = token
        self.login_page = login_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.token is None or scope["path"].startswith(PUBLIC_PREFIXES)
                or token_matches(carried_token(scope), self.token)):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/api/"):
            await send_json(send, 401, {"error": "this server needs its token: send 'Authorization: Bearer TOKEN'"},
                            ((b"www-authenticate", b"Bearer"),))
            return
        page = self.login_page()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": page})


class BodyLimit:
    """413 for a request body over ``max_bytes`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int, message: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _headers(scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await send_json(send, 413, {"error": self.message}, ((b"connection", b"close"),))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # FastAPI passes an HTTPException on unchanged, to our handler
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, limited_receive, send)


class SecurityHeaders:
    """Adds ``HEADERS`` to every response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
