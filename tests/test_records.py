"""One serializer per result type (issue 35): a ``Judgement`` becomes fields only in
``voxwatch.pipeline.records.judgement_fields``, a ``FileScore`` only in ``FileScore.record``; every consumer (the
events, the evidence sidecars, ``score --json``, the web API) carries the same fields, ``why`` included."""

from __future__ import annotations

import ast
import json
import threading
import time
from pathlib import Path

import numpy as np

import voxwatch
from voxwatch.detector import FileScore
from voxwatch.pipeline.decision import Judgement
from voxwatch.pipeline.records import judgement_fields
from voxwatch.pipeline.samplerate import SAMPLE_RATE
from voxwatch.transport.events import decode_message, encode, event_fields, topic_for

WHY = "verifier 0.97 >= 0.90 on 1.0-3.0 s; filter 0.62"


def verified(kind: str = "verdict", why: str = WHY) -> Judgement:
    return Judgement(kind, 4, 16000, 48000, 0.971234567, 0.9, "fake", 3, stage="verifier", filter_score=0.62,
                     verifier_score=0.95, why=why)


def test_the_fields_of_a_judgement():
    assert judgement_fields(verified()) == {
        "utterance": 4, "start_s": 1.0, "end_s": 3.0, "score": 0.971235, "threshold": 0.9, "verdict": "fake",
        "windows": 3, "early": False, "stage": "verifier", "filter_score": 0.62, "verifier_score": 0.95,
        "early_alert": False, "why": WHY}
    alert = judgement_fields(verified("alert"))
    assert "refractory_s" in alert and "early_alert" not in alert
    assert "why" not in judgement_fields(verified(why=""))  # no reason given, no field
    import dataclasses

    assert "band" not in judgement_fields(verified())  # no band in force, no field
    assert judgement_fields(dataclasses.replace(verified(), band=0.05))["band"] == 0.05
    window = judgement_fields(Judgement("window", 0, 0, 32000, 0.3, 0.5, "real", 1))
    assert window["filter_score"] == 0.3 and window["verifier_score"] is None and window["stage"] == "filter"


def test_an_event_is_the_judgements_fields_and_the_model():
    j = verified("alert")
    fields = event_fields(j, "m", "sha", "v")
    assert fields == {**judgement_fields(j), "model": {"id": "m", "sha256": "sha", "verifier": "v"}}
    body = {"schema": 1, "type": "alert", "daemon": {"id": "d"}, "stream": "s", "seq": 0, "ts": 1.0,
            "latency_ms": 1.0, **fields}
    assert decode_message(encode(topic_for("alert", "s"), body))[1]["why"] == WHY


def test_score_json_and_the_web_api_carry_the_same_fields():
    from voxwatch.web.scoring import analysis_record

    utterance, alert = verified(), verified("alert")
    window = Judgement("window", 4, 16000, 48000, 0.8, 0.837, "fake", 1)
    result = FileScore(0.62, "fake", 0.837, "m", (utterance,), (alert,), "call.wav", (window,), "v")
    record = result.record(spans=True)
    assert record["spans"] == [judgement_fields(utterance)] and record["spans"][0]["why"] == WHY
    assert "spans" not in result.record()
    web = analysis_record(result, 3.0)
    assert web["spans"] == record["spans"] and web["alerts"] == [judgement_fields(alert)]
    assert web["windows"] == [{**judgement_fields(window), "verifier_score": 0.95}]  # its utterance's verifier
    json.dumps(web, allow_nan=False)


def test_an_evidence_sidecar_carries_the_events_fields(tmp_path):
    from voxwatch.config import EvidenceSettings
    from voxwatch.daemon.evidence import EvidenceStore
    from voxwatch.pipeline.ringbuffer import RingBuffer
    from voxwatch.pipeline.sources import write_blocks
    from voxwatch.pipeline.types import JudgementEvent

    class Source:
        description = "array"

        def run(self, ring, stop, report):
            write_blocks(np.zeros(4 * SAMPLE_RATE, dtype=np.float32), ring, stop, 320, realtime=False)

    store = EvidenceStore(EvidenceSettings(dir=str(tmp_path / "ev"), pad_s=0.0), daemon={"id": "d"})
    store.start()
    store.wrap("s", Source()).run(RingBuffer(4 * SAMPLE_RATE + 1), threading.Event(), lambda *a: None)
    j = verified("alert")
    flac = store.save(JudgementEvent("s", j, "m", "sha", time.monotonic(), "v"), ts=1_800_000_000.0)
    store.close()
    sidecar = json.loads(flac.with_suffix(".json").read_text())
    assert {key: sidecar[key] for key in event_fields(j, "m", "sha", "v")} == event_fields(j, "m", "sha", "v")


def _judgement_like_dicts(path: Path) -> list[int]:
    """Lines of dict literals that lay out a judgement by hand (an utterance's span and score)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
            if {"utterance", "start_s", "score"} <= keys:
                found.append(node.lineno)
    return found


def test_no_other_module_lays_out_a_judgement_by_hand():
    root = Path(voxwatch.__file__).resolve().parent
    own = root / "pipeline" / "records.py"
    hand_made = {str(path.relative_to(root)): lines for path in sorted(root.rglob("*.py")) if path != own
                 and (lines := _judgement_like_dicts(path))}
    assert hand_made == {}, "serialize judgements with voxwatch.pipeline.records.judgement_fields"
    assert _judgement_like_dicts(own)  # the check does see a layout where there is one
