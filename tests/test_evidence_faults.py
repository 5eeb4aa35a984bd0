"""Evidence under the faults an operator meets: a directory that cannot be written (read-only, or a path under a
file: root ignores mode bits), a full disk (ENOSPC), and a writer killed with SIGKILL in the middle of a clip.
Alerts still go out, every failed clip is counted and the failure logged once, and no partial clip is ever left
under a final name."""

from __future__ import annotations

import errno
import logging
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from helpers import silence, speech_like
from test_evidence import ArraySource, alert, feed

from voxwatch.config import EvidenceSettings, config_from_dict
from voxwatch.daemon import evidence as evidence_module
from voxwatch.daemon.evidence import EvidenceStore
from voxwatch.pipeline.types import JudgementEvent, fan_out

FAILURE_LOG = "cannot write clips"


def failure_logs(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if FAILURE_LOG in r.getMessage()]


def test_unwritable_directory_alerts_still_go_out_failures_counted_and_logged_once(tmp_path, loud_model, caplog):
    """End to end through a running pipeline: the evidence dir lies under a regular file, so it cannot exist."""
    from voxwatch.model_loading import load_classifier
    from voxwatch.pipeline.runner import Pipeline

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    config = config_from_dict({"features": {"kind": "logfbank", "nfilt": 40, "normalize": "none"},
                               "decision": {"refractory_s": 0.0}})
    store = EvidenceStore(EvidenceSettings(dir=str(blocker / "evidence"), pad_s=0.2))
    caplog.set_level(logging.WARNING, logger="voxwatch.daemon.evidence")
    store.start()  # must not raise
    events = []
    pipeline = Pipeline(config.pipeline, load_classifier(str(loud_model), config), fan_out(events.append, store))
    pipeline.start()
    audio = np.concatenate([silence(0.5), speech_like(3.0, 0.3, seed=1), silence(1.0),
                            speech_like(3.0, 0.3, seed=2), silence(1.0)])
    pipeline.add_stream("s", store.wrap("s", ArraySource(audio)))
    assert pipeline.finish(timeout=30)
    store.close()
    alerts = [e for e in events if isinstance(e, JudgementEvent) and e.judgement.kind == "alert"]
    assert len(alerts) == 2  # both alerts went out
    assert store.saved == 0 and store.failed == 3  # the start, then each of the two clips
    assert len(failure_logs(caplog)) == 1
    assert store.stats()["failed"] == 3


def test_full_disk_is_counted_logged_once_and_recovers(tmp_path, monkeypatch, caplog):
    root = tmp_path / "ev"
    store = EvidenceStore(EvidenceSettings(dir=str(root), pad_s=0.0))
    caplog.set_level(logging.WARNING, logger="voxwatch.daemon.evidence")
    store.start()
    feed(store, "s", speech_like(6.0))

    def no_space(handle, audio):
        handle.write(b"fLaC" + b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(evidence_module, "_write_flac", no_space)
    for i in range(3):
        store(alert("s", i, i + 1.0, utterance=i + 1))  # the emit sink: never raises, never blocks
    deadline = time.monotonic() + 10
    while store.failed < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.failed == 3 and store.saved == 0
    assert [p.name for p in root.iterdir()] == []  # no temporaries, no partial clips
    logs = failure_logs(caplog)
    assert len(logs) == 1 and "disk full" in logs[0].getMessage()

    monkeypatch.undo()  # space again: the next clip is saved, and that is logged once
    store(alert("s", 4.0, 5.0, utterance=5))
    store.close()
    assert store.saved == 1 and store.failed == 3
    assert len(list(root.glob("*.flac"))) == 1 and len(list(root.glob("*.json"))) == 1
    assert any("saving clips in" in r.getMessage() for r in caplog.records)


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_evidence import alert, feed
    from voxwatch.config import EvidenceSettings
    from voxwatch.daemon import evidence

    def hang(*args, **kwargs):
        if {point!r} == "flac":
            args[0].write(b"fLaC" + bytes(4096))  # half a FLAC in the file being written
            args[0].flush()
        print("writing", flush=True)
        time.sleep(60)

    if {point!r} == "flac":
        evidence._write_flac = hang
    else:
        evidence.json.dumps = hang
    store = evidence.EvidenceStore(EvidenceSettings(dir={root!r}, pad_s=0.0))
    store.start()
    feed(store, "s", np.full(3 * 16000, 0.1, np.float32))
    store.save(alert("s", 0.5, 2.5), ts=time.time())
""")


@pytest.mark.parametrize("point", ["flac", "sidecar"])
def test_sigkill_mid_write_leaves_no_partial_clip(tmp_path, point):
    root = tmp_path / "ev"
    script = CHILD.format(tests=str(__import__("pathlib").Path(__file__).parent), point=point, root=str(root))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "writing", child.stderr.read()
        child.kill()  # SIGKILL: no handler, no cleanup
    finally:
        child.wait(10)
    assert list(root.glob("*.flac")) == [] and list(root.glob("*.json")) == []  # nothing under a final name
    store = EvidenceStore(EvidenceSettings(dir=str(root)))
    store.start()  # a restarted daemon sweeps what the killed one left
    store.close()
    assert [p.name for p in root.iterdir()] == []
