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
    assert first["total"] == 3 and first["pages"] == 2
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


def test_label_requests_are_json_with_a_known_label(client, store):
    clip_id = store[1][0].stem
    assert client.post(f"/api/evidence/{clip_id}/label", data={"label": "fake"}).status_code in (415, 422)
    assert client.post(f"/api/evidence/{clip_id}/label", content='{"label": "fake"}',
                       headers={"content-type": "text/plain"}).status_code in (415, 422)
    assert label(client, clip_id, "maybe").status_code == 422
    assert store[1][0].exists()


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
