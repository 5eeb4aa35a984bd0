"""The FastAPI application: the pages, the ``/api/*`` routers beside them, the package's static assets, and the
middlewares that make it safe by default.

``create_app`` takes everything it serves as arguments (settings, the scoring service, the live feed, the evidence
review), so tests build one in-process with their own parts and the command builds the real one. FastAPI writes
the OpenAPI description (``/api/openapi.json``); its interactive docs pages are off because they load their
scripts from a CDN, and this server works offline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from voxwatch import __version__
from voxwatch.daemon.evidence_review import EvidenceReview
from voxwatch.pipeline.cascade import resolve_rule
from voxwatch.web.evidence_routes import evidence_router
from voxwatch.web.live import LiveFeed
from voxwatch.web.live_routes import live_router
from voxwatch.web.pages import STATIC, login_page, pages_router
from voxwatch.web.responses import error, validation_message
from voxwatch.web.score_routes import score_router
from voxwatch.web.scoring import ScoreService
from voxwatch.web.security import BodyLimit, SecurityHeaders, TokenGuard
from voxwatch.web.settings import WebSettings
from voxwatch.web.voices import VoiceDesk
from voxwatch.web.voices_routes import voices_router

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
MULTIPART_SLACK = 64 * 1024  # the form's own bytes around the file


def create_app(settings: WebSettings, scorer: ScoreService, feed: LiveFeed | None,
               evidence: EvidenceReview, voices: VoiceDesk | None = None) -> FastAPI:
    """The application; ``feed`` None: no Live data (the page and ``/api/live`` say so); ``voices`` None: the
    voices directory of ``settings``."""

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
                              "evidence clips, enrol and check voices. With a token, send it as 'Authorization: "
                              "Bearer TOKEN'.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, validation_message(exc.errors()))

    @app.get("/api/health", summary="Is the server up; which models and thresholds; the live feed's counters")
    def health() -> dict[str, Any]:
        snapshot = feed.snapshot() if feed else {}
        detector = scorer.detector
        thresholds = {"filter": round(detector.threshold, 4)}
        verifier_id = None
        if detector.verifier is not None and (rule := resolve_rule(detector.config.pipeline.verifier,
                                                                   detector.verifier.card)) is not None:
            verifier_id = detector.verifier.model_id
            thresholds.update(verifier=round(rule.threshold, 4), gate=round(rule.gate, 4),
                              verifier_telephone=round(rule.threshold_for(True), 4),
                              verifier_short_run=round(rule.threshold_for(False, 1), 4))
        return {"status": "ok", "version": __version__, "model": detector.model_id, "verifier": verifier_id,
                "threshold": thresholds["filter"], "thresholds": thresholds,
                "limits": {"max_upload_mb": settings.max_upload_mb, "max_duration_s": settings.max_duration_s},
                "live": None if feed is None else {
                    "connect": feed.urls, "events": snapshot.get("events", 0), "daemons": len(snapshot["daemons"]),
                    "stale": sum(d["stale"] for d in snapshot["daemons"]), "error": snapshot.get("error")},
                "evidence": {"dir": str(evidence.dir), "exists": evidence.dir.is_dir()}}

    app.include_router(pages_router(settings.token))
    app.include_router(score_router(scorer))
    app.include_router(live_router(feed))
    app.include_router(evidence_router(evidence, settings.page_size))
    app.include_router(voices_router(voices or VoiceDesk(settings.voices_dir, settings.max_duration_s)))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # added innermost first: the body limit, the host check, the token, and outermost the headers on every answer
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + MULTIPART_SLACK,
                       message=f"upload larger than this server's limit of {settings.max_upload_mb:g} MB "
                               "(voxwatch web --max-upload-mb)")
    if settings.token is None:  # no token, so only loopback names: a rebinding DNS name cannot reach the API
        app.add_middleware(TrustedHostMiddleware,
                           allowed_hosts=sorted({*LOOPBACK_HOSTS, settings.host, settings.host.strip("[]")}))
    app.add_middleware(TokenGuard, token=settings.token, login_page=login_page)
    app.add_middleware(SecurityHeaders)
    return app
