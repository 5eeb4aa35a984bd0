"""The one shape of an API error: ``{"error": message}`` (plus context such as the upload's ``file``), as
``voxwatch score --json`` writes a file that failed."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({**extra, "error": message}, status_code=status)
