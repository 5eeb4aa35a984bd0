"""The Voices page's API in-process (FastAPI's TestClient): enrol from uploads, list, check (the line of
``voxwatch voices check --json``), remove; the refusals of ``voxwatch voices`` as 400s in the one error shape;
requests without the page's header refused (no cross-site form can enrol or remove a voice)."""

from __future__ import annotations

import pytest
from voice_helpers import SENTENCES, espeak
from web_helpers import make_app

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

LOCAL = "http://127.0.0.1"
SENT = {"X-Voxwatch-Request": "1"}


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> list:
    d = tmp_path_factory.mktemp("espeak")
    return [espeak(d / f"s{i}.wav", text) for i, text in enumerate(SENTENCES)]


@pytest.fixture
def client(tmp_path):
    from voxwatch.web.voices import VoiceDesk

    desk = VoiceDesk(tmp_path / "voices", 600.0)
    app = make_app(tmp_path / "evidence", voices=desk)
    with TestClient(app, base_url=LOCAL) as client:
        yield client


def files(paths):
    return [("files", (p.name, p.read_bytes(), "audio/wav")) for p in paths]


def test_enrol_list_check_and_remove_a_voice(client, spoken, tmp_path):
    assert client.get("/api/voices").json()["voices"] == []
    assert client.get("/voices").status_code == 200 and "voices.js" in client.get("/voices").text
    added = client.post("/api/voices", data={"name": "bob"}, files=files(spoken[:3]), headers=SENT)
    assert added.status_code == 200, added.text
    assert added.json()["name"] == "bob" and added.json()["recordings"] == 3
    listed = client.get("/api/voices").json()
    assert [v["name"] for v in listed["voices"]] == ["bob"] and listed["dir"] == str(tmp_path / "voices")
    assert (tmp_path / "voices").is_dir()

    checked = client.post("/api/voices/check", files={"file": (spoken[3].name, spoken[3].read_bytes())},
                          data={"expect": "bob"}, headers=SENT)
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["file"] == spoken[3].name and body["voice"]["name"] == "bob" and body["voice"]["match"] == "genuine"
    assert set(body["voice"]) == {"name", "similarity", "clone_score", "match"}

    again = client.post("/api/voices", data={"name": "bob"}, files=files(spoken[:3]), headers=SENT)
    assert again.status_code == 400 and "already enrolled" in again.json()["error"]
    assert client.delete("/api/voices/bob", headers=SENT).json() == {"removed": "bob"}
    assert client.get("/api/voices").json()["voices"] == []
    missing = client.delete("/api/voices/bob", headers=SENT)
    assert missing.status_code == 404 and set(missing.json()) == {"error"}


def test_the_refusals_of_voices_add_are_one_error_each(client, spoken):
    short = client.post("/api/voices", data={"name": "bob"}, files=files(spoken[:1]), headers=SENT)
    assert short.status_code == 400 and "at least 10 s" in short.json()["error"]
    bad = client.post("/api/voices", data={"name": "bob"}, headers=SENT,
                      files=[("files", ("junk.wav", b"not audio at all", "audio/wav"))])
    assert bad.status_code == 400 and "cannot decode" in bad.json()["error"]
    nobody = client.post("/api/voices/check", files={"file": (spoken[0].name, spoken[0].read_bytes())},
                         headers=SENT)
    assert nobody.status_code == 404 and "no voices are enrolled" in nobody.json()["error"]
    name = client.post("/api/voices", data={"name": "../etc"}, files=files(spoken[:3]), headers=SENT)
    assert name.status_code == 400 and set(name.json()) == {"error"}


def test_requests_without_the_pages_header_are_refused(client, spoken):
    form = client.post("/api/voices", data={"name": "bob"}, files=files(spoken[:3]))
    assert form.status_code == 403 and "X-Voxwatch-Request" in form.json()["error"]
    assert client.delete("/api/voices/bob").status_code == 403
    assert client.post("/api/voices/check", files={"file": ("a.wav", b"x")}).status_code == 403
    assert client.get("/api/voices").json()["voices"] == []


def test_a_voices_dir_that_is_a_file_is_one_error_line(tmp_path, capsys):
    from voxwatch.cli import main

    not_a_folder = tmp_path / "voices.txt"
    not_a_folder.write_text("x")
    assert main(["web", "--port", "0", "--voices-dir", str(not_a_folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("voxwatch: error: --voices-dir ") and "not a directory" in err[0]
