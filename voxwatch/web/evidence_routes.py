"""``/api/evidence``: the store's clips a page at a time, one clip (sidecar, spectrogram, audio), and its label."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from voxwatch.daemon.evidence_review import ClipNotFound, EvidenceReview
from voxwatch.errors import AudioDecodeError, VoxwatchError
from voxwatch.pipeline.sources import load_audio
from voxwatch.web.responses import error
from voxwatch.web.spectrogram import spectrogram_json


class LabelRequest(BaseModel):
    label: Literal["real", "fake"]


def evidence_router(evidence: EvidenceReview, page_size: int) -> APIRouter:
    router = APIRouter()

    @router.get("/api/evidence", summary="Evidence clips, newest first, one page at a time")
    def evidence_page(page: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
        total, clips = evidence.count_and_page((page - 1) * page_size, page_size)
        return {"dir": str(evidence.dir), "total": total, "page": page, "page_size": page_size,
                "pages": max(1, -(-total // page_size)), "clips": [c.summary() for c in clips]}

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
                 "fake/, where the retraining workflow (voxwatch train --data DIR) reads it")
    def evidence_label(clip_id: str, body: LabelRequest, request: Request) -> Any:
        # JSON only: a form on another site cannot send it, so a page elsewhere cannot label through a browser
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return error(415, "send the label as JSON: {\"label\": \"real\"} or {\"label\": \"fake\"}")
        try:
            return evidence.label(clip_id, body.label).summary()
        except ClipNotFound as exc:
            return error(404, str(exc))
        except (VoxwatchError, OSError) as exc:
            return error(409, f"cannot label {clip_id}: {exc}")

    return router
