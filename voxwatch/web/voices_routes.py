"""``/api/voices``: list, enrol (upload), remove and check voices (clone watch), behind the server's token and host
rules like every route.

The requests that change the voices directory or read uploads (enrol, remove, check) must carry the header
``X-Voxwatch-Request: 1``. A form on another site cannot send a custom header (a script there would need a CORS
preflight this server never grants), so a page elsewhere cannot enrol or remove a voice through a browser; the
Voices page's script sends it, and whoever forgets it learns what to send.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from voxwatch.errors import AudioDecodeError, VoxwatchError
from voxwatch.web.responses import error
from voxwatch.web.scoring import UploadTooLong
from voxwatch.web.voices import VoiceDesk, VoiceNotFound

REQUEST_HEADER = "x-voxwatch-request"


def _refused(request: Request) -> Any:
    if request.headers.get(REQUEST_HEADER) != "1":
        return error(403, "send the header 'X-Voxwatch-Request: 1' with requests that enrol, remove or check voices "
                          "(the Voices page does)")
    return None


def _failure(exc: Exception) -> Any:
    if isinstance(exc, VoiceNotFound):
        return error(404, str(exc))
    if isinstance(exc, UploadTooLong):
        return error(413, str(exc))
    if isinstance(exc, AudioDecodeError | VoxwatchError):
        return error(400, str(exc))
    raise exc


def voices_router(desk: VoiceDesk) -> APIRouter:
    router = APIRouter()

    @router.get("/api/voices", summary="The enrolled voices (clone watch) and the voices directory")
    def voices() -> dict[str, Any]:
        return {"dir": str(desk.dir), "voices": desk.voices()}

    @router.post("/api/voices", summary="Enrol a voice from recordings of that person (>= 10 s of speech; >= 30 s "
                 "from >= 3 recordings recommended)",
                 responses={400: {"description": "refused: too little speech, two people, too close to another voice, "
                                                 "unreadable audio"}, 403: {"description": "header missing"}})
    async def add(request: Request, name: Annotated[str, Form()],
                  files: Annotated[list[UploadFile], File(description="recordings of that person")],
                  replace: Annotated[bool, Form()] = False,
                  telephone: Annotated[bool, Form(description="also enrol telephone copies (every codec chain "
                                                              "this ffmpeg has)")] = True) -> Any:
        if (refused := _refused(request)) is not None:
            return refused
        uploads = [(await f.read(), f.filename) for f in files]
        try:
            return await run_in_threadpool(desk.add, name, uploads, replace, telephone)
        except Exception as exc:  # noqa: BLE001 (each known error is one answer; others go on up)
            return _failure(exc)

    @router.delete("/api/voices/{name}", summary="Remove an enrolled voice (deletes its voiceprint)")
    async def remove(request: Request, name: str) -> Any:
        if (refused := _refused(request)) is not None:
            return refused
        try:
            return await run_in_threadpool(desk.remove, name)
        except Exception as exc:  # noqa: BLE001
            return _failure(exc)

    @router.post("/api/voices/check", summary="Check a recording against the enrolled voices: genuine, clone or "
                 "none (the line of 'voxwatch voices check --json')")
    async def check(request: Request, file: Annotated[UploadFile, File()],
                    expect: Annotated[str, Form()] = "") -> Any:
        if (refused := _refused(request)) is not None:
            return refused
        data = await file.read()
        try:
            return await run_in_threadpool(desk.check, data, file.filename, expect or None)
        except Exception as exc:  # noqa: BLE001
            return _failure(exc)

    return router
