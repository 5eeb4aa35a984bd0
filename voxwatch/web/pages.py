"""The four pages (static HTML from ``static/``; their scripts fetch the API) and the login form a token needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse, RedirectResponse, Response

from voxwatch.web.security import TOKEN_COOKIE, token_matches

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "analyze.html", "/live": "live.html", "/evidence": "evidence.html", "/voices": "voices.html"}


def login_page() -> bytes:
    return (STATIC / "login.html").read_bytes()


def pages_router(token: str | None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(name: str) -> Response:
        return FileResponse(STATIC / name, media_type="text/html", headers={"cache-control": "no-store"})

    for path, name in PAGES.items():
        router.add_api_route(path, lambda name=name: page(name), methods=["GET"])

    @router.post("/login")
    async def login(token_given: Annotated[str, Form(alias="token")] = "",
                    next: Annotated[str, Form()] = "/") -> Response:
        target = next if next in PAGES else "/"  # never a redirect off this server
        if token is None:
            return RedirectResponse(target, status_code=303)
        if not token_matches(token_given, token):
            return Response(login_page(), status_code=401, media_type="text/html")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(TOKEN_COOKIE, token_given, httponly=True, samesite="strict", path="/")
        return response

    return router
