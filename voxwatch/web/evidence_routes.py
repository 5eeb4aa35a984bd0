"""``/api/evidence``: the store's clips a page at a time, one clip (sidecar, spectrogram, audio), and its label."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from voxwatch.daemon.evidence_review import ClipNotFound, EvidenceReview
from voxwatch.errors import AudioDecodeError, VoxwatchError
from voxwatch.pipeline.sources import load_audio
from voxwatch.web.responses import error, validation_message
from voxwatch.web.spectrogram import spectrogram_json


class LabelRequest(BaseModel):
    label: Literal["real", "fake"]


def evidence_router(evidence: EvidenceReview, page_size: int) -> APIRouter:
    router = APIRouter()

    @router.get("/api/evidence", summary="Evidence clips, newest first, one page at a time (exists: false while "
                "the directory is not there yet)")
    def evidence_page(page: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
        total, clips = evidence.count_and_page((page - 1) * page_size, page_size)
        return {"dir": str(evidence.dir), "exists": evidence.dir.is_dir(), "total": total, "page": page,
                "page_size": page_size, "pages": max(1, -(-total // page_size)),
                "clips": [c.summary() for c in clips]}

    @router.get("/api/evidence/{clip_id}", summary="One clip: its sidecar, label and spectrogram")
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

    @router.get("/api/evidence/{clip_id}/audio", summary="One clip's FLAC", response_class=FileResponse)
    def evidence_audio(clip_id: str) -> Response:
        try:
            return FileResponse(evidence.find(clip_id).flac, media_type="audio/flac")
        except ClipNotFound as exc:
            return error(404, str(exc))

    @router.post("/api/evidence/{clip_id}/label", summary="Label a clip real or fake: it moves into real/ or "
                 "fake/, where the retraining workflow (voxwatch train --data DIR) reads it",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": LabelRequest.model_json_schema()}}}},
                 responses={404: {"description": "no such clip"}, 409: {"description": "the move failed"},
                            415: {"description": "not JSON"}, 422: {"description": "not {\"label\": ...}"}})
    async def evidence_label(clip_id: str, request: Request) -> Any:
        # JSON only, checked before the body is read: a form on another site cannot send JSON, so a page elsewhere
        # cannot label through a browser, and whoever sends a form learns what to send instead
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return error(415, "send the label as JSON: {\"label\": \"real\"} or {\"label\": \"fake\"}")
        try:
            body = LabelRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return error(422, validation_message(exc.errors()))
        try:
            return (await run_in_threadpool(evidence.label, clip_id, body.label)).summary()
        except ClipNotFound as exc:
            return error(404, str(exc))
        except (VoxwatchError, OSError) as exc:
            return error(409, f"cannot label {clip_id}: {exc}")

    return router
