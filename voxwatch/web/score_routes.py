"""``POST /api/score``: one uploaded file in, ``voxwatch score --json``'s record (plus the plot's data) out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile

from voxwatch.errors import AudioDecodeError
from voxwatch.web.responses import error
from voxwatch.web.scoring import ScoreService, UploadTooLong, upload_name


def score_router(scorer: ScoreService) -> APIRouter:
    router = APIRouter()

    @router.post("/api/score", summary="Score one audio file: the JSON of 'voxwatch score --json', plus the window "
                 "scores over time (and a spectrogram with ?spectrogram=true)",
                 responses={400: {"description": "unreadable audio (the wording of voxwatch score)"},
                            413: {"description": "upload over the size or duration limit"}})
    def score(file: Annotated[UploadFile, File(description="WAV, FLAC or OGG; any rate and channels")],
              spectrogram: bool = False) -> Any:
        try:
            return scorer.score_upload(file.file.read(), file.filename, spectrogram=spectrogram)
        except UploadTooLong as exc:
            return error(413, str(exc))
        except AudioDecodeError as exc:
            return error(400, str(exc), file=upload_name(file.filename))
        finally:
            file.file.close()

    return router
