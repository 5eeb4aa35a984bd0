"""The web API in-process (FastAPI's TestClient, httpx): /api/score gives what ``voxwatch score --json`` prints
plus the window scores; bad audio is a 400 in score's words; size and duration limits are 413s; health, OpenAPI,
the response headers, and assets served by the package only (no CDN)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import httpx
import numpy as np
import pytest
from helpers import silence, speech_like, write_wav
from web_helpers import REPO, make_app, real_clip, synthetic_clip

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

LOCAL = "http://127.0.0.1"  # the Host a loopback server accepts without a token
STATIC = REPO / "voxwatch" / "web" / "static"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(make_app(tmp_path_factory.mktemp("evidence")), base_url=LOCAL) as client:
        yield client


def score_json(path) -> dict:
    out = subprocess.run([sys.executable, "-m", "voxwatch", "score", "--json", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def upload(client, path, name=None, **params):
    with open(path, "rb") as handle:
        return client.post("/api/score", files={"file": (name or path.name, handle, "audio/wav")}, params=params)


@pytest.mark.parametrize("kind", ["real", "synthetic"])
def test_score_gives_score_json_plus_the_windows(client, tmp_path, kind):
    path = real_clip() if kind == "real" else synthetic_clip(tmp_path)
    response = upload(client, path)
    assert response.status_code == 200
    record = response.json()
    expected = score_json(path)
    assert {k: record[k] for k in expected if k != "file"} == {k: v for k, v in expected.items() if k != "file"}
    assert record["file"] == path.name
    assert record["verdict"] == ("real" if kind == "real" else "fake")
    # the plot's data: every window of every utterance, in stream order, judged against the same threshold
    assert [w["utterance"] for w in record["windows"]] == [s["utterance"] for s in record["spans"]
                                                          for _ in range(s["windows"])]
    starts = [w["start_s"] for w in record["windows"]]
    assert starts == sorted(starts) and record["duration_s"] >= record["windows"][-1]["end_s"]
    assert all(w["verdict"] == ("fake" if w["score"] >= record["threshold"] else "real") for w in record["windows"])
    # the bundled cascade: each window of an utterance the verifier judged carries that utterance's verifier score
    judged = {s["utterance"]: s.get("verifier_score") for s in record["spans"]}
    assert all(w.get("verifier_score") == judged[w["utterance"]] for w in record["windows"])
    assert (len(record["alerts"]) > 0) == (kind == "synthetic")


def test_spectrogram_when_asked(client, tmp_path):
    path = synthetic_clip(tmp_path)
    assert "spectrogram" not in upload(client, path).json()
    spec = upload(client, path, spectrogram="true").json()["spectrogram"]
    assert 0 < spec["columns"] <= 800 and spec["rows"] == 128 and spec["max_hz"] == 8000
    data = np.frombuffer(base64.b64decode(spec["data"]), np.uint8).reshape(spec["rows"], spec["columns"])
    assert data.max() == 255 and data.min() < 64  # the loudest cell at the top of the range, silence below it


@pytest.mark.parametrize(("name", "content"), [
    ("garbage.wav", b"this is not audio at all"),
    ("empty.wav", b""),
    ("truncated.wav", None),
])
def test_bad_audio_is_a_400_in_the_words_of_score(client, tmp_path, name, content):
    path = tmp_path / name
    if content is None:  # a WAV whose header promises more samples than it holds
        write_wav(path, speech_like(1.0))
        path.write_bytes(path.read_bytes()[:3000])
    else:
        path.write_bytes(content)
    response = upload(client, path)
    assert response.status_code == 400
    cli = subprocess.run([sys.executable, "-m", "voxwatch", "score", str(path)], capture_output=True, text=True)
    assert cli.returncode == 1
    assert cli.stderr.strip() == f"voxwatch: error: {path.parent}/{response.json()['error']}"
    assert response.json()["file"] == name


def test_an_upload_over_the_size_limit_is_a_413(tmp_path):
    wav = write_wav(tmp_path / "long.wav", speech_like(8.0))  # 256 kB
    with TestClient(make_app(tmp_path / "ev", max_upload_mb=0.1), base_url=LOCAL) as client:
        response = upload(client, wav)
        assert response.status_code == 413
        assert "0.1 MB" in response.json()["error"] and "--max-upload-mb" in response.json()["error"]
        # sent in chunks without a Content-Length: cut off once the bytes received pass the limit
        request = httpx.Request("POST", "http://x/api/score", files={"file": ("long.wav", wav.read_bytes())})
        body = request.read()
        headers = {"content-type": request.headers["content-type"]}
        chunks = (body[i:i + 16384] for i in range(0, len(body), 16384))
        response = client.post("/api/score", content=chunks, headers=headers)
        assert response.status_code == 413 and "--max-upload-mb" in response.json()["error"]
        small = write_wav(tmp_path / "small.wav", np.concatenate([silence(0.3), speech_like(1.0, 0.2)]))
        assert upload(client, small).status_code == 200


def test_audio_over_the_duration_limit_is_a_413(tmp_path):
    wav = write_wav(tmp_path / "call.wav", speech_like(3.0))
    with TestClient(make_app(tmp_path / "ev", max_duration_s=2.5), base_url=LOCAL) as client:
        response = upload(client, wav)
    assert response.status_code == 413
    assert response.json()["error"] == ("call.wav: 3.0 s of audio is longer than this server's limit of 2.5 s "
                                        "(voxwatch web --max-duration-s)")


def test_the_client_file_name_cannot_reach_the_disk_or_the_record(client, tmp_path):
    wav = write_wav(tmp_path / "a.wav", np.concatenate([silence(0.3), speech_like(1.5, 0.2)]))
    record = upload(client, wav, name="../../etc/<script>.wav").json()
    assert record["file"] == "_script_.wav"


def test_health_openapi_and_headers(client):
    health = client.get("/api/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["model"].startswith("tinycnn") and body["live"] is None
    # both stages' thresholds: the filter's (also "threshold", as before) and, with the cascade, the verifier's
    card = json.loads((REPO / "voxwatch" / "models" / "verifier.json").read_text())
    assert body["verifier"].startswith("verifier") and body["threshold"] == body["thresholds"]["filter"]
    assert body["thresholds"]["verifier"] == round(card["threshold"], 4)
    assert body["thresholds"]["gate"] == round(card["gate"], 4)
    assert body["thresholds"]["verifier_telephone"] == round(card["telephone_threshold"], 4)
    assert body["thresholds"]["verifier_short_run"] == round(card["short_threshold"], 4)
    spec = client.get("/api/openapi.json").json()
    assert {"/api/score", "/api/events", "/api/health", "/api/evidence", "/api/evidence/{clip_id}/label"} <= \
        set(spec["paths"])
    assert client.get("/docs").status_code == 404  # FastAPI's docs page loads its scripts from a CDN: off
    for page in ("/", "/live", "/evidence"):
        response = client.get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_pages_use_only_assets_the_package_serves(client):
    for asset in STATIC.iterdir():
        text = asset.read_text()
        # no script, style or image from elsewhere (the SVG namespace is a name, not a fetch)
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), asset.name
        assert not re.search(r"""(fetch|import|addModule)\(\s*["'`]https?:""", text), asset.name
        for ref in re.findall(r"/static/([\w.-]+)", text):
            assert client.get(f"/static/{ref}").status_code == 200, (asset.name, ref)


def test_without_a_token_only_loopback_host_names_are_served(client):
    assert client.get("/api/health", headers={"host": "127.0.0.1:8080"}).status_code == 200
    assert client.get("/api/health", headers={"host": "attacker.example"}).status_code == 400  # DNS rebinding


def test_the_web_side_needs_no_torch(tmp_path):
    """``voxwatch web`` scores with onnxruntime only: with torch unimportable the app starts and scores."""
    wav = write_wav(tmp_path / "a.wav", np.concatenate([silence(0.3), speech_like(2.5, 0.2)]))
    probe = f"""
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("torch is blocked")
sys.meta_path.insert(0, NoTorch())
sys.path.insert(0, {str(REPO / "tests")!r})
from fastapi.testclient import TestClient
from web_helpers import make_app
with TestClient(make_app({str(tmp_path / "ev")!r}), base_url="http://127.0.0.1") as client:
    with open({str(wav)!r}, "rb") as handle:
        response = client.post("/api/score", files={{"file": ("a.wav", handle)}})
print(response.status_code, response.json()["verdict"], "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    status, verdict, torch_loaded = out.stdout.split()
    assert status == "200" and verdict in ("real", "fake") and torch_loaded == "False"


def test_silence_is_no_speech_with_no_windows(client, tmp_path):
    record = upload(client, write_wav(tmp_path / "quiet.wav", silence(3.0)), spectrogram="true").json()
    assert record["verdict"] == "no-speech" and record["score"] is None
    assert record["windows"] == [] and record["spans"] == [] and record["duration_s"] == 3.0


@pytest.mark.parametrize(("seconds", "columns"), [(0.005, (1, 1)), (2.0, (197, 197)), (600.0, (780, 800))])
def test_the_spectrogram_stays_small_whatever_the_length(seconds, columns):
    """10 ms columns while they fit; a longer recording gets a longer hop, never more than 800 columns."""
    from voxwatch.web.spectrogram import spectrogram_json

    spec = spectrogram_json(speech_like(seconds, 0.2) if seconds >= 1 else np.zeros(int(seconds * 16000)))
    assert columns[0] <= spec["columns"] <= columns[1] and spec["rows"] == 128
    assert len(base64.b64decode(spec["data"])) == 128 * spec["columns"]


def test_a_window_carries_the_verifier_score_of_its_utterance():
    """A window is serialized as every judgement is (``judgement_fields``); where the verifier judged its
    utterance, the window carries that utterance's verifier score, which the plot draws as a second series."""
    import dataclasses

    from voxwatch.detector import Judgement
    from voxwatch.pipeline.records import judgement_fields
    from voxwatch.web.scoring import window_point

    window = Judgement("window", 2, 16000, 48000, 0.91234, 0.5, "fake", 1)
    assert window_point(window) == judgement_fields(window)
    assert window_point(window)["verifier_score"] is None and window_point(window)["score"] == 0.91234
    assert window_point(window, 0.40004)["verifier_score"] == 0.40004
    checked = dataclasses.replace(window, verifier_score=0.7)
    assert window_point(checked, 0.4)["verifier_score"] == 0.7


def test_health_without_a_verifier_names_the_filters_threshold_only(tmp_path):
    from voxwatch.detector import Detector

    with TestClient(make_app(tmp_path, detector=Detector(verifier="none")), base_url=LOCAL) as client:
        body = client.get("/api/health").json()
    assert body["verifier"] is None and body["thresholds"] == {"filter": body["threshold"]}


def test_a_request_fastapi_cannot_validate_gets_the_one_error_shape(client):
    response = client.post("/api/score")  # no file
    assert (response.status_code, response.json()) == (422, {"error": "file: Field required"})
    bad = client.post("/api/score", params={"spectrogram": "maybe"}, files={"file": ("a.wav", b"x")})
    assert bad.status_code == 422 and bad.json()["error"].startswith("spectrogram: ")


def test_the_live_snapshot_carries_each_alerts_reason():
    from voxwatch.monitor.state import MonitorState
    from voxwatch.web.live import live_snapshot

    state = MonitorState()
    alert = {"schema": 1, "type": "alert", "daemon": {"id": "d", "host": "h", "pid": 1}, "stream": "s", "seq": 0,
             "ts": 1.0, "utterance": 1, "start_s": 1.0, "end_s": 3.0, "score": 0.97, "threshold": 0.9,
             "verdict": "fake", "stage": "verifier", "why": "verifier 0.97 >= 0.90 on 1.0-3.0 s", "latency_ms": 1.0}
    state.apply("voxwatch.alert.s", alert, now=0.0)
    (shown,) = live_snapshot(state, 0.0, [])["alerts"]
    assert (shown["why"], shown["stage"], shown["verdict"]) == (alert["why"], "verifier", "fake")
