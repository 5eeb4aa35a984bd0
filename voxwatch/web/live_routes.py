"""``GET /api/events`` (Server-Sent Events from the ``LiveFeed``) and ``GET /api/live`` (its latest snapshot)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from voxwatch.web.live import LiveFeed
from voxwatch.web.responses import error

EVENT_KINDS = ("alert", "verdict", "stream", "snapshot")
KEEP_ALIVE_S = 15.0  # a comment line this often, so proxies keep an idle stream open and a gone client is noticed


def sse(kind: str, body: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def live_router(feed: LiveFeed | None) -> APIRouter:
    router = APIRouter()
    missing = "this server was started without a live feed"

    @router.get("/api/live", summary="The live feed's current state: daemons (stale marked), streams, recent alerts")
    def live() -> Any:
        return feed.snapshot() if feed else error(404, missing)

    @router.get("/api/events", summary="Server-Sent Events: alert, verdict and stream events as they arrive, and a "
                "snapshot of the state every second", response_class=StreamingResponse)
    async def events(request: Request, type: Annotated[list[str] | None, Query()] = None) -> Response:
        if feed is None:
            return error(404, missing)
        wanted = set(type or EVENT_KINDS)
        queue = feed.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                if "snapshot" in wanted:
                    yield sse("snapshot", feed.snapshot())
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), timeout=KEEP_ALIVE_S)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield ": keep-alive\n\n"
                        continue
                    if item is None:  # the feed closed: the server is stopping
                        return
                    kind, body = item
                    if kind in wanted:
                        yield sse(kind, body)
            finally:
                feed.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    return router
