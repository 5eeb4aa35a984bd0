"""The FastAPI application: the three pages, the ``/api/*`` routes beside them, and the package's static assets.

``create_app`` takes everything it serves as arguments (settings, the scoring service, the live feed, the evidence
review), so tests build one in-process with their own parts and the command builds the real one. FastAPI writes
the OpenAPI description (``/api/openapi.json``); its interactive docs pages are off because they load their
scripts from a CDN, and this server works offline.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from voxwatch import __version__
from voxwatch.daemon.evidence_review import ClipNotFound, EvidenceReview
from voxwatch.errors import AudioDecodeError, VoxwatchError
from voxwatch.pipeline.sources import load_audio
from voxwatch.web.live import LiveFeed
from voxwatch.web.scoring import ScoreService, UploadTooLong, upload_name
from voxwatch.web.security import TOKEN_COOKIE, BodyLimit, SecurityHeaders, TokenGuard, token_matches
from voxwatch.web.settings import WebSettings
from voxwatch.web.spectrogram import spectrogram_json

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "analyze.html", "/live": "live.html", "/evidence": "evidence.html"}
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
MULTIPART_SLACK = 64 * 1024  # the form's own bytes around the file


class LabelRequest(BaseModel):
    label: Literal["real", "fake"]


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({**extra, "error": message}, status_code=status)


def create_app(settings: WebSettings, scorer: ScoreService, feed: LiveFeed | None,
               evidence: EvidenceReview) -> FastAPI:
    """The application; ``feed`` None: no Live data (the page says so)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if feed:
            feed.start()
        try:
            yield
        finally:
            if feed:
                await asyncio.to_thread(feed.close)

    app = FastAPI(title="voxwatch web", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="Score audio files for machine-generated speech, follow daemons' alerts, review "
                              "evidence clips. With a token, send it as 'Authorization: Bearer TOKEN'.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    # ------------------------------------------------------------------ pages
    def page(name: str) -> Response:
        return FileResponse(STATIC / name, media_type="text/html", headers={"cache-control": "no-store"})

    for path, name in PAGES.items():
        app.add_api_route(path, lambda name=name: page(name), methods=["GET"], include_in_schema=False)

    @app.post("/login", include_in_schema=False)
    async def login(token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
        target = next if next in PAGES else "/"  # never a redirect off this server
        if settings.token is None:
            return RedirectResponse(target, status_code=303)
        if not token_matches(token, settings.token):
            return Response((STATIC / "login.html").read_bytes(), status_code=401, media_type="text/html")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    # ------------------------------------------------------------------ API
    @app.get("/api/health", summary="Is the server up; which model; the live feed's counters")
    def health() -> dict[str, Any]:
        snapshot = feed.snapshot() if feed else {}
        return {"status": "ok", "version": __version__, "model": scorer.detector.model_id,
                "threshold": round(scorer.detector.threshold, 4),
                "limits": {"max_upload_mb": settings.max_upload_mb, "max_duration_s": settings.max_duration_s},
                "live": None if feed is None else {
                    "connect": feed.urls, "events": snapshot.get("events", 0), "daemons": len(snapshot["daemons"]),
                    "stale": sum(d["stale"] for d in snapshot["daemons"]), "error": snapshot.get("error")},
                "evidence": {"dir": str(evidence.dir), "exists": evidence.dir.is_dir()}}

    @app.post("/api/score", summary="Score one audio file: the JSON of 'voxwatch score --json', plus the window "
              "scores over time (and a spectrogram with ?spectrogram=true)",
              responses={400: {"description": "unreadable audio (the wording of voxwatch score)"},
                         413: {"description": "upload over the size or duration limit"}})
    def score(file: Annotated[UploadFile, File(description="WAV, FLAC or OGG; any rate and channels")],
              spectrogram: bool = False) -> Any:
        try:
            data = file.file.read()
            return scorer.score_upload(data, file.filename, spectrogram=spectrogram)
        except UploadTooLong as exc:
            return error(413, str(exc))
        except AudioDecodeError as exc:
            return error(400, str(exc), file=upload_name(file.filename))
        finally:
            file.file.close()

    @app.get("/api/live", summary="The live feed's current state: daemons (stale marked), streams, recent alerts")
    def live() -> Any:
        if feed is None:
            return error(404, "this server was started without a live feed")
        return feed.snapshot()

    @app.get("/api/events", summary="Server-Sent Events: alert, verdict and stream events as they arrive, and a "
             "snapshot of the state every second", response_class=StreamingResponse)
    async def events(request: Request, type: Annotated[list[str] | None, Query()] = None) -> Response:
        if feed is None:
            return error(404, "this server was started without a live feed")
        wanted = set(type or ("alert", "verdict", "stream", "snapshot"))
        queue = feed.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                if "snapshot" in wanted:
                    yield sse("snapshot", feed.snapshot())
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), timeout=15.0)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield ": keep-alive\n\n"
                        continue
                    if item is None:
                        return
                    kind, body = item
                    if kind in wanted:
                        yield sse(kind, body)
            finally:
                feed.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    @app.get("/api/evidence", summary="Evidence clips, newest first, one page at a time")
    def evidence_page(page: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
        total, clips = evidence.count_and_page((page - 1) * settings.page_size, settings.page_size)
        return {"dir": str(evidence.dir), "total": total, "page": page, "page_size": settings.page_size,
                "pages": max(1, -(-total // settings.page_size)), "clips": [c.summary() for c in clips]}

    @app.get("/api/evidence/{clip_id}", summary="One clip: its sidecar, label and spectrogram")
    def evidence_clip(clip_id: str) -> Any:
        try:
            clip = evidence.find(clip_id)
            spectrogram = spectrogram_json(load_audio(clip.flac))
        except ClipNotFound as exc:
            return error(404, str(exc))
        except AudioDecodeError as exc:
            return error(400, str(exc))
        return {**clip.summary(), "sidecar": clip.sidecar, "spectrogram": spectrogram,
                "audio": f"/api/evidence/{clip.id}/audio"}

    @app.get("/api/evidence/{clip_id}/audio", summary="One clip's FLAC", response_class=FileResponse)
    def evidence_audio(clip_id: str) -> Response:
        try:
            clip = evidence.find(clip_id)
        except ClipNotFound as exc:
            return error(404, str(exc))
        return FileResponse(clip.flac, media_type="audio/flac")

    @app.post("/api/evidence/{clip_id}/label", summary="Label a clip real or fake: it moves into real/ or fake/, "
              "where the retraining workflow (voxwatch train --data DIR) reads it")
    def evidence_label(clip_id: str, body: LabelRequest, request: Request) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return error(415, "send the label as JSON: {\"label\": \"real\"} or {\"label\": \"fake\"}")
        try:
            return evidence.label(clip_id, body.label).summary()
        except ClipNotFound as exc:
            return error(404, str(exc))
        except (VoxwatchError, OSError) as exc:
            return error(409, f"cannot label {clip_id}: {exc}")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # outermost last: the headers on every answer, then the token, then the body limit
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + MULTIPART_SLACK,
                       message=f"upload larger than this server's limit of {settings.max_upload_mb:g} MB "
                               "(voxwatch web --max-upload-mb)")
    if settings.token is None:  # no token, so only loopback names: a rebinding DNS name cannot reach the API
        app.add_middleware(TrustedHostMiddleware,
                           allowed_hosts=sorted({*LOOPBACK_HOSTS, settings.host, settings.host.strip("[]")}))
    app.add_middleware(TokenGuard, token=settings.token, login_page=lambda: (STATIC / "login.html").read_bytes())
    app.add_middleware(SecurityHeaders)
    return app


def sse(kind: str, body: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
