"""The event schema on the wire, in one place: building bodies, topics, and strict decoding.

Every message is two ZeroMQ frames: ``[topic, json_body]`` (UTF-8). Topics:

* ``voxwatch.alert.<stream>``   an utterance judged fake (early, mid-utterance, or at its end; ``uncertain`` ones
  only with ``[decision] alert_on_uncertain``)
* ``voxwatch.verdict.<stream>`` every scored utterance's final verdict (fake, real or uncertain)
* ``voxwatch.stream.<stream>``  a stream's life: started / ended / error / recovered
* ``voxwatch.status``           the daemon's heartbeat with counters (``voxwatch.status.broker`` for a broker)

Body fields common to all: ``schema`` (int, this module's SCHEMA_VERSION), ``type``, ``daemon`` ({id, host, pid}),
``stream`` (or null), ``seq`` (per publisher, +1 per message, so a gap means loss), ``ts`` (unix time at publish).
Alerts and verdicts say which stage decided (``stage``: ``filter`` or ``verifier``, the cascade's second
model), with ``filter_score`` and ``verifier_score`` (null where the utterance did not reach the verifier);
``score`` and ``threshold`` are the deciding stage's, and ``why`` (where the decision stage gave one) says in a
few words what decided. The judgement's fields come from ``voxwatch.pipeline.records.judgement_fields``, the one
serializer every other consumer (evidence sidecars, ``score --json``, the web API) uses too. README.md shows an
example of each. ``decode_message`` is
what every consumer (tail, monitor, broker) uses: it rejects anything malformed with ``MalformedMessage`` instead
of crashing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, get_args

from voxwatch.pipeline.decision import Judgement, Stage, Verdict
from voxwatch.pipeline.records import judgement_fields

SCHEMA_VERSION = 1
PREFIX = "voxwatch"
EVENT_TYPES = ("alert", "verdict", "stream", "status")
VERDICTS = get_args(Verdict)  # fake, real, uncertain: the decision stage's own list
STAGES = get_args(Stage)  # filter, verifier
MAX_MESSAGE_BYTES = 1 << 20
_STREAM_ID = re.compile(r"[^A-Za-z0-9_.:-]+")

REQUIRED = {
    "alert": ("start_s", "end_s", "score", "threshold", "verdict", "model", "latency_ms", "utterance"),
    "verdict": ("start_s", "end_s", "score", "threshold", "verdict", "model", "latency_ms", "utterance"),
    "stream": ("state",),
    "status": ("state", "counters"),
}


class MalformedMessage(ValueError):
    """A message that does not follow the schema; consumers count and skip these."""


def safe_stream_id(name: str) -> str:
    """Stream ids go into topics: keep letters, digits and ``_.:-``; everything else becomes ``_``."""
    cleaned = _STREAM_ID.sub("_", name).strip("_.")
    return cleaned or "stream"


def unique_stream_ids(names: Iterable[str]) -> list[str]:
    """Topic-safe stream ids for these names, unique among themselves: a repeat gets ``-2``, ``-3``, ... (files of the
    same name in two folders, two microphones of one model). The one rule for ``replay``'s files and ``run``'s
    devices, so a stream id means the same in every command."""
    taken: set[str] = set()
    ids = []
    for name in names:
        base = candidate = safe_stream_id(name)
        n = 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        ids.append(candidate)
    return ids


def topic_for(event_type: str, stream: str | None = None) -> str:
    if event_type == "status":
        return f"{PREFIX}.status" if stream is None else f"{PREFIX}.status.{stream}"
    return f"{PREFIX}.{event_type}.{stream}"


def event_fields(judgement: Judgement, model_id: str, model_sha256: str, verifier_id: str = "") -> dict[str, Any]:
    """The alert/verdict specific part of a body: the judgement's own fields (``judgement_fields``, the one
    serializer of a ``Judgement``) and the model that judged it (the publisher adds the common fields and
    latency_ms; the evidence store its clip)."""
    model: dict[str, Any] = {"id": model_id, "sha256": model_sha256}
    if verifier_id:
        model["verifier"] = verifier_id
    return {**judgement_fields(judgement), "model": model}


def encode(topic: str, body: dict[str, Any]) -> list[bytes]:
    return [topic.encode(), json.dumps(body, separators=(",", ":"), allow_nan=False).encode()]


def decode_message(frames: list[bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[str, dict[str, Any]]:
    """Validate and decode ``[topic, body]``. Raises MalformedMessage with a short reason."""
    if len(frames) != 2:
        raise MalformedMessage(f"expected 2 frames, got {len(frames)}")
    raw_topic, raw_body = frames
    if len(raw_topic) + len(raw_body) > max_bytes:
        raise MalformedMessage(f"message of {len(raw_topic) + len(raw_body)} bytes exceeds {max_bytes}")
    try:
        topic = bytes(raw_topic).decode("utf-8")
        body = json.loads(bytes(raw_body).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MalformedMessage(f"undecodable: {exc.__class__.__name__}") from None
    if not isinstance(body, dict):
        raise MalformedMessage("body is not a JSON object")
    if body.get("schema") != SCHEMA_VERSION:
        raise MalformedMessage(f"unknown schema version {body.get('schema')!r}")
    kind = body.get("type")
    if kind not in EVENT_TYPES:
        raise MalformedMessage(f"unknown type {kind!r}")
    if not topic.startswith(f"{PREFIX}.{kind}"):
        raise MalformedMessage(f"topic {topic!r} does not match type {kind!r}")
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise MalformedMessage("seq missing or not a non-negative integer")
    daemon = body.get("daemon")
    if not isinstance(daemon, dict) or not isinstance(daemon.get("id"), str):
        raise MalformedMessage("daemon missing or without id")
    if not isinstance(body.get("ts"), int | float):
        raise MalformedMessage("ts missing")
    missing = [key for key in REQUIRED[kind] if key not in body]
    if missing:
        raise MalformedMessage(f"{kind} without {', '.join(missing)}")
    if kind in ("alert", "verdict"):
        if body.get("verdict") not in VERDICTS:
            raise MalformedMessage("verdict invalid")
        if body.get("stage", "filter") not in STAGES:
            raise MalformedMessage("stage invalid")
        for key in ("score", "threshold", "start_s", "end_s", "latency_ms"):
            if not isinstance(body.get(key), int | float) or isinstance(body.get(key), bool):
                raise MalformedMessage(f"{key} is not a number")
        if not isinstance(body.get("stream"), str):
            raise MalformedMessage("stream missing")
    return topic, body
