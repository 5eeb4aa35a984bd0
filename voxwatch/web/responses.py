"""The one shape of an API error: ``{"error": message}`` (plus context such as the upload's ``file``), as
``voxwatch score --json`` writes a file that failed. A request FastAPI cannot validate (a page number below 1, a
label that is neither real nor fake) gets that shape too, with a 422, instead of FastAPI's ``{"detail": [...]}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({**extra, "error": message}, status_code=status)


_REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def validation_message(errors: Sequence[Any]) -> str:
    """One line from FastAPI's (or pydantic's) validation errors: ``label: Input should be 'real' or 'fake'``,
    each error's place (without FastAPI's ``body``/``query``/... prefix) and message, joined with ``; ``."""
    parts = []
    for item in errors:
        loc = list(item.get("loc", ()))
        if loc and loc[0] in _REQUEST_PARTS:
            loc = loc[1:]
        where = ".".join(str(part) for part in loc) or "request"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
