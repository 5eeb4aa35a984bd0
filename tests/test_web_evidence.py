"""The Evidence API on clips written by the real evidence store: newest first and paged, audio and spectrogram,
labels that move a clip into real/ or fake/ (what ``voxwatch train --data`` reads) atomically, and routes that
cannot leave the evidence directory (``..``, absolute paths, symbolic links)."""

from __future__ import annotations

import json
import os
import stat

import pytest
import soundfile as sf
from web_helpers import evidence_clips, make_app

from voxwatch.daemon.evidence_review import EvidenceReview
from voxwatch.training.datasets import load_folder

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402


@pytest.fixture()
def store(tmp_path):
    directory = tmp_path / "evidence"
    return directory, evidence_clips(directory, 3)


@pytest.fixture()
def client(store):
    with TestClient(make_app(store[0], page_size=2), base_url="http://127.0.0.1") as client:
        yield client


def label(client, clip_id, value):
    return client.post(f"/api/evidence/{clip_id}/label", json={"label": value})


def test_clips_newest_first_one_page_at_a_time(client, store):
    _, paths = store
    first = client.get("/api/evidence").json()
    assert first["total"] == 3 and first["pages"] == 2 and first["exists"] is True
    assert [c["id"] for c in first["clips"]] == [paths[2].stem, paths[1].stem]
    assert first["clips"][0]["stream"] == "desk-phone" and first["clips"][0]["label"] is None
    assert first["clips"][0]["score"] == 0.93
    second = client.get("/api/evidence", params={"page": 2}).json()
    assert [c["id"] for c in second["clips"]] == [paths[0].stem]


def test_a_clip_with_its_audio_and_spectrogram(client, store):
    _, paths = store
    clip = client.get(f"/api/evidence/{paths[0].stem}").json()
    assert clip["sidecar"]["clip"]["file"] == paths[0].name and clip["spectrogram"]["columns"] > 0
    audio = client.get(clip["audio"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/flac"
    assert audio.content == paths[0].read_bytes()


def test_a_label_moves_the_clip_where_retraining_reads_it(client, store):
    directory, paths = store
    clip_id = paths[1].stem
    response = label(client, clip_id, "fake")
    assert response.status_code == 200 and response.json()["label"] == "fake"
    moved = directory / "fake" / paths[1].name
    assert moved.is_file() and not paths[1].exists() and not paths[1].with_suffix(".json").exists()
    sidecar = json.loads(moved.with_suffix(".json").read_text())
    assert sidecar["label"] == "fake" and sidecar["score"] == 0.93  # the alert kept, the label added
    assert stat.S_IMODE(moved.with_suffix(".json").stat().st_mode) == 0o600
    assert [c["label"] for c in client.get("/api/evidence").json()["clips"] if c["id"] == clip_id] == ["fake"]
    assert [(c.path.name, c.label) for c in load_folder(directory)] == [(paths[1].name, 1)]

    assert label(client, clip_id, "real").json()["label"] == "real"  # a second look: a false alarm after all
    assert (directory / "real" / paths[1].name).is_file() and not moved.exists()
    assert [(c.path.name, c.label) for c in load_folder(directory)] == [(paths[1].name, 0)]
    assert sf.read(directory / "real" / paths[1].name)[0].size > 0
    leftovers = [p.name for p in directory.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_a_failed_move_leaves_the_clip_whole_where_it_was(store, monkeypatch):
    directory, paths = store
    real_replace = os.replace
    calls = []

    def fail_on_the_audio(src, dst):
        calls.append(dst)
        if str(dst).endswith(".flac"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr("voxwatch.daemon.evidence_review.os.replace", fail_on_the_audio)
    with pytest.raises(OSError):
        EvidenceReview(directory).label(paths[0].stem, "fake")
    assert len(calls) == 2
    assert paths[0].is_file() and json.loads(paths[0].with_suffix(".json").read_text())["label"] is None
    assert list((directory / "fake").iterdir()) == []  # neither the new sidecar nor its temporary file


JSON_ONLY = 'send the label as JSON: {"label": "real"} or {"label": "fake"}'


def test_label_requests_are_json_with_a_known_label(client, store):
    """Not JSON is a 415 (docs/web.md), a form too, whatever its fields; a wrong label a 422; both in the API's
    one error shape, ``{"error": ...}``, not FastAPI's ``{"detail": [...]}``."""
    clip_id = store[1][0].stem
    for response in (client.post(f"/api/evidence/{clip_id}/label", data={"label": "fake"}),
                     client.post(f"/api/evidence/{clip_id}/label", data={"other": "x"}),
                     client.post(f"/api/evidence/{clip_id}/label", content='{"label": "fake"}',
                                 headers={"content-type": "text/plain"})):
        assert (response.status_code, response.json()) == (415, {"error": JSON_ONLY})
    maybe = label(client, clip_id, "maybe")
    assert (maybe.status_code, maybe.json()) == (422, {"error": "label: Input should be 'real' or 'fake'"})
    for content in ("{}", "not json", "[1]"):
        response = client.post(f"/api/evidence/{clip_id}/label", content=content,
                               headers={"content-type": "application/json"})
        assert response.status_code == 422 and list(response.json()) == ["error"], content
    assert store[1][0].exists()
    spec = client.get("/api/openapi.json").json()["paths"]["/api/evidence/{clip_id}/label"]["post"]
    assert spec["requestBody"]["content"]["application/json"]["schema"]["properties"]["label"]["enum"] == \
        ["real", "fake"]  # the body is still described, though the route reads it itself


def test_invalid_parameters_are_a_422_in_the_one_error_shape(client):
    response = client.get("/api/evidence", params={"page": 0})
    assert (response.status_code, response.json()) == (422, {"error": "page: Input should be greater than or "
                                                                      "equal to 1"})
    assert client.get("/api/evidence", params={"page": "x"}).json()["error"].startswith("page: ")


def test_a_store_that_is_not_there_yet_is_said_and_a_wrong_evidence_dir_is_an_error(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "not-yet"
    with TestClient(make_app(missing), base_url="http://127.0.0.1") as client:
        page = client.get("/api/evidence").json()
    assert page["exists"] is False and page["total"] == 0 and page["dir"] == str(missing)
    for bad, what in ((missing, "does not exist"), (tmp_path / "file", "is not a directory")):
        if what == "is not a directory":
            bad.write_text("x")
        done = subprocess.run([sys.executable, "-m", "voxwatch", "web", "--port", "0", "--evidence-dir", str(bad)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stderr.startswith(f"voxwatch: error: --evidence-dir {bad}: {what}")
        assert len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.parametrize("name", [
    "..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "%2Ftmp%2Fx-u0001-abcdef",
    "..-u0001-abcdef", ".hidden-u0001-abcdef", "x-u0001-abcdef%00", "real%2F..%2F..%2Fx-u0001-abcdef",
])
def test_names_cannot_leave_the_evidence_directory(client, name):
    for path in (f"/api/evidence/{name}", f"/api/evidence/{name}/audio"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/api/evidence/{name}/label", json={"label": "fake"}).status_code == 404


def test_symbolic_links_are_not_followed(client, store, tmp_path):
    directory, paths = store
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.flac"
    secret.write_bytes(paths[0].read_bytes())
    link = directory / "20990101T000000.000Z-evil-u0001-abcdef.flac"
    link.symlink_to(secret)
    link.with_suffix(".json").write_text("{}")
    assert client.get(f"/api/evidence/{link.stem}/audio").status_code == 404
    assert client.get(f"/api/evidence/{link.stem}").status_code == 404
    assert label(client, link.stem, "real").status_code == 404
    assert link.stem not in [c["id"] for c in client.get("/api/evidence").json()["clips"]]
    assert secret.is_file() and link.is_symlink()

    (directory / "fake").symlink_to(outside, target_is_directory=True)  # a label folder that points away
    response = label(client, paths[2].stem, "fake")
    assert response.status_code == 409
    assert sorted(p.name for p in outside.iterdir()) == ["secret.flac"]
    assert paths[2].is_file() and paths[2].with_suffix(".json").is_file()
