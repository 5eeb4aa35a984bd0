"""Evidence store: every alert's audio saved as FLAC with a JSON sidecar, for review and retraining.

How the audio gets here without touching the pipeline: ``EvidenceStore.wrap`` puts a thin tee around a stream's
source, so every block the source writes into the stream's ring buffer is also written into a per-stream *history*
ring (``history_s`` long) with the same absolute sample indices. The store is one of the pipeline's ``emit``
sinks: an alert (its ``start``/``end`` are absolute sample indices) goes on a bounded queue (never blocks; a full
queue drops the clip and counts it), and the store's own thread cuts ``[start - pad, end + pad]`` from the history,
writes ``<time>-<stream>-u<utterance>.flac`` (16 kHz mono, 16-bit) and ``.json`` (the alert, plus the clip's span)
with mode 0600 in a 0700 directory, then enforces the caps: at most ``max_files`` clips and ``max_mb`` in the top
directory, the oldest deleted first.

A clip is written so that a crash never leaves half of one under its final name: the FLAC and the sidecar are
each written to a hidden temporary file in the same directory and flushed, then the sidecar and last the FLAC are
renamed into place (a rename is atomic within one filesystem). A ``.flac`` under its final name therefore always
has its complete ``.json``; what a SIGKILL can leave (hidden temporaries, a sidecar whose FLAC never arrived) is
removed when the store starts again.

Trouble with the directory (read-only, full, not creatable) never reaches the pipeline or the publisher: alerts
still go out, each clip that could not be written is counted in ``failed`` (heartbeats and metrics), and the
failure is logged once, not once per alert, until a clip is saved again.

Labelling for retraining: a person listens to each clip and moves it (the .flac and its .json) into ``real/`` or
``fake/`` under the same directory. Those sub-folders are the layout the training "folder" adapter reads
(``voxwatch train --data DIR``), and clips moved there no longer count against the caps, so they are never deleted.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import queue
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from voxwatch.config import EvidenceSettings
from voxwatch.pipeline.ringbuffer import RingBuffer
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.pipeline.sources import Source, StreamReporter
from voxwatch.pipeline.types import JudgementEvent, PipelineEvent
from voxwatch.transport.events import SCHEMA_VERSION, event_fields

log = logging.getLogger(__name__)
_CLOSE = object()


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
        self.dropped = 0  # alerts whose clip could not be queued or cut (the audio was no longer there)
        self.failed = 0  # clips that could not be written (directory read-only, full, missing)
        self._failing = False  # a failure was logged and no clip has been saved since
        self.max_bytes = int(settings.max_mb * 1024 * 1024)

    def start(self) -> None:
        """Start the writer thread; a directory that cannot be prepared is logged, and each clip retries it."""
        try:
            self._prepare_dir()
            remove_leftovers(self.dir)
        except OSError as exc:
            self._note_failure(exc)
        self._thread.start()

    def _prepare_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)

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
        return {"saved": self.saved, "deleted": self.deleted, "dropped": self.dropped, "failed": self.failed,
                "dir": str(self.dir)}

    # ------------------------------------------------------------------ thread
    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _CLOSE:
                return
            event, ts = item
            try:
                self.save(event, ts, wait=True)
            except Exception as exc:  # a full or read-only disk must not take the daemon down
                self._note_failure(exc)

    def _note_failure(self, exc: BaseException) -> None:
        """Count every failed clip; log the first of a run of failures only (an alert storm must not flood logs)."""
        self.failed += 1
        if self._failing:
            return
        self._failing = True
        reason = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else str(exc)
        hint = " (disk full)" if isinstance(exc, OSError) and exc.errno == errno.ENOSPC else ""
        log.error("evidence: cannot write clips in %s: %s%s; alerts still go out, failed clips are counted "
                  "(evidence_failed) and not logged again until one is saved", self.dir, reason, hint)

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
            **event_fields(j, event.model_id, event.model_sha256, event.verifier_id),
            "source": self._sources.get(event.stream, ""),
            "clip": {"file": flac.name, "sample_rate": SAMPLE_RATE, "start_s": round(start / SAMPLE_RATE, 3),
                     "end_s": round(end / SAMPLE_RATE, 3)},
            "label": None,
        }
        if self._failing:
            self._prepare_dir()  # it may not have existed at start, or was removed
        json_path = flac.with_suffix(".json")
        temporaries = [write_private(flac, lambda handle: _write_flac(handle, audio))]
        try:
            temporaries.append(write_private(
                json_path, lambda handle: handle.write(json.dumps(sidecar, indent=1).encode() + b"\n")))
            os.replace(temporaries[1], json_path)  # the sidecar first: a final .flac always has its sidecar
            os.replace(temporaries[0], flac)
        except BaseException:
            json_path.unlink(missing_ok=True)
            raise
        finally:
            for tmp in temporaries:
                tmp.unlink(missing_ok=True)
        self.saved += 1
        if self._failing:
            self._failing = False
            log.warning("evidence: saving clips in %s again (%d failed before)", self.dir, self.failed)
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


TMP_PREFIX, TMP_SUFFIX = ".", ".tmp"
CLIP_NAME = re.compile(r"-u\d{4,}-[0-9a-f]{6}$")  # the end of every clip's name (see ``save``)


def write_private(path: Path, write: Any) -> Path:
    """Write ``path``'s content to a hidden temporary file beside it, mode 0600 whatever the umask, flushed to
    disk; returns the temporary path for the caller to rename into place (removed again if writing fails)."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def remove_leftovers(directory: Path) -> None:
    """What a killed writer can leave in the top directory: hidden temporaries, and sidecars whose FLAC was never
    renamed into place. Reviewed clips (``real/``, ``fake/``) are not looked at."""
    for tmp in directory.glob(f"{TMP_PREFIX}*{TMP_SUFFIX}"):
        if tmp.suffixes[-2:-1] in ([".flac"], [".json"]):
            tmp.unlink(missing_ok=True)
    for sidecar in directory.glob("*.json"):
        if CLIP_NAME.search(sidecar.stem) and not sidecar.with_suffix(".flac").exists():
            sidecar.unlink(missing_ok=True)
