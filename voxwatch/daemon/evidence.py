"""Evidence store: every alert's audio saved as FLAC with a JSON sidecar, for review and retraining.

How the audio gets here without touching the pipeline: ``EvidenceStore.wrap`` puts a thin tee around a stream's
source, so every block the source writes into the stream's ring buffer is also written into a per-stream *history*
ring (``history_s`` long) with the same absolute sample indices. The store is one of the pipeline's ``emit``
sinks: an alert (its ``start``/``end`` are absolute sample indices) goes on a bounded queue (never blocks; a full
queue drops the clip and counts it), and the store's own thread cuts ``[start - pad, end + pad]`` from the history,
writes ``<time>-<stream>-u<utterance>.flac`` (16 kHz mono, 16-bit) and ``.json`` (the alert, plus the clip's span)
with mode 0600 in a 0700 directory, then enforces the caps: at most ``max_files`` clips and ``max_mb`` in the top
directory, the oldest deleted first.

Labelling for retraining: a person listens to each clip and moves it (the .flac and its .json) into ``real/`` or
``fake/`` under the same directory. Those sub-folders are the layout the training "folder" adapter reads
(``voxwatch train --data DIR``), and clips moved there no longer count against the caps, so they are never deleted.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.config import EvidenceSettings
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.runner import JudgementEvent, PipelineEvent
from voxwatch.pipeline.sources import SAMPLE_RATE, Source, StreamReporter
from voxwatch.transport.events import SCHEMA_VERSION, judgement_fields

log = logging.getLogger(__name__)
_CLOSE = object()
LABEL_DIRS = ("real", "fake")


class _TeeRing:
    """Looks like the stream's RingBuffer to a source; every write also goes into the history ring."""

    def __init__(self, ring: RingBuffer, history: RingBuffer) -> None:
        self._ring = ring
        self._history = history

    def write(self, samples: np.ndarray) -> int:
        self._history.write(samples)
        return self._ring.write(samples)

    def restart_at(self, index: int) -> None:
        self._history.restart_at(index)
        self._ring.restart_at(index)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ring, name)


class _TappedSource:
    """A source whose audio is also kept in a history ring (same description, same behaviour)."""

    def __init__(self, inner: Source, history: RingBuffer) -> None:
        self.inner = inner
        self.history = history
        self.description = inner.description

    def run(self, ring: RingBuffer, stop: threading.Event, report: StreamReporter) -> None:
        self.inner.run(_TeeRing(ring, self.history), stop, report)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class EvidenceStore:
    """Saves alert clips; use ``wrap`` for each stream's source, pass the store as an emit sink, ``close`` at exit."""

    def __init__(self, settings: EvidenceSettings, daemon: dict[str, Any] | None = None,
                 queue_size: int = 64) -> None:
        self.settings = settings
        self.dir = settings.path
        self.daemon = daemon or {}
        self._histories: dict[str, RingBuffer] = {}
        self._sources: dict[str, str] = {}
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._loop, name="voxwatch-evidence", daemon=True)
        self.saved = 0
        self.deleted = 0
        self.dropped = 0  # alerts whose clip could not be queued or written
        self.max_bytes = int(settings.max_mb * 1024 * 1024)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self._thread.start()

    def wrap(self, stream_id: str, source: Source) -> Source:
        history = RingBuffer(int(self.settings.history_s * SAMPLE_RATE))
        self._histories[stream_id] = history
        self._sources[stream_id] = source.description
        return _TappedSource(source, history)

    def __call__(self, event: PipelineEvent) -> None:
        """Emit sink: queue alerts (never blocks)."""
        if isinstance(event, JudgementEvent) and event.judgement.kind == "alert":
            try:
                self._queue.put_nowait((event, time.time()))
            except queue.Full:
                self.dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the thread."""
        if not self._thread.is_alive():
            return
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        return {"saved": self.saved, "deleted": self.deleted, "dropped": self.dropped, "dir": str(self.dir)}

    # ------------------------------------------------------------------ thread
    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _CLOSE:
                return
            event, ts = item
            try:
                self.save(event, ts, wait=True)
            except Exception as exc:  # a full disk must not take the daemon down
                self.dropped += 1
                log.warning("evidence: could not save clip for %s: %s", event.stream, exc)

    def save(self, event: JudgementEvent, ts: float, wait: bool = False) -> Path | None:
        """Cut the alert's clip from the history, write FLAC + sidecar, enforce caps. Returns the FLAC path."""
        history = self._histories.get(event.stream)
        if history is None:
            self.dropped += 1
            return None
        j = event.judgement
        pad = int(self.settings.pad_s * SAMPLE_RATE)
        want_end = j.end + pad
        deadline = time.monotonic() + self.settings.pad_s + 1.0
        while wait and history.written < want_end and time.monotonic() < deadline:
            time.sleep(0.05)  # the padding after the alert may still be arriving
        start = max(j.start - pad, history.oldest())
        end = min(want_end, history.written)
        if end <= start:
            self.dropped += 1
            return None
        audio = history.peek(start, end)
        stamp = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
        name = f"{stamp}-{event.stream}-u{j.utterance:04d}-{uuid.uuid4().hex[:6]}"
        flac = self.dir / f"{name}.flac"
        sidecar = {
            "schema": SCHEMA_VERSION, "type": "alert", "daemon": self.daemon, "stream": event.stream, "ts": ts,
            **judgement_fields(j, event.model_id, event.model_sha256),
            "source": self._sources.get(event.stream, ""),
            "clip": {"file": flac.name, "sample_rate": SAMPLE_RATE, "start_s": round(start / SAMPLE_RATE, 3),
                     "end_s": round(end / SAMPLE_RATE, 3)},
            "label": None,
        }
        _write_private(flac, lambda handle: _write_flac(handle, audio))
        _write_private(flac.with_suffix(".json"),
                       lambda handle: handle.write(json.dumps(sidecar, indent=1).encode() + b"\n"))
        self.saved += 1
        self.enforce_caps()
        return flac

    def clips(self) -> list[Path]:
        """Unreviewed clips (top directory only), oldest first."""
        found = [p for p in self.dir.glob("*.flac") if p.is_file()]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def enforce_caps(self) -> None:
        clips = self.clips()
        sizes = {p: _clip_bytes(p) for p in clips}
        total = sum(sizes.values())
        while clips and (len(clips) > self.settings.max_files or total > self.max_bytes):
            oldest = clips.pop(0)
            total -= sizes[oldest]
            for path in (oldest, oldest.with_suffix(".json")):
                path.unlink(missing_ok=True)
            self.deleted += 1


def _clip_bytes(flac: Path) -> int:
    size = 0
    for path in (flac, flac.with_suffix(".json")):
        try:
            size += path.stat().st_size
        except FileNotFoundError:
            pass
    return size


def _write_flac(handle: Any, audio: np.ndarray) -> None:
    import soundfile as sf

    sf.write(handle, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")


def _write_private(path: Path, write: Any) -> None:
    """Write via a temporary file created with mode 0600 (whatever the umask), then rename into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
