"""Safe by default: loopback unless a token is given; with a token every page and API call carries it (Bearer
header or the login cookie), compared in constant time; the command refuses an open bind in one line (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest
from web_helpers import WebServer, make_app

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import voxwatch.web.security as security  # noqa: E402

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture()
def client(tmp_path):
    with TestClient(make_app(tmp_path / "ev", token=TOKEN), base_url="http://203.0.113.7:8080") as client:
        yield client


def test_every_api_call_and_page_needs_the_token(client):
    for path in ("/api/health", "/api/evidence", "/api/live", "/api/openapi.json"):
        response = client.get(path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", path
        assert "token" in response.json()["error"]
        assert client.get(path, headers={"Authorization": "Bearer wrong-token-of-enough-length"}).status_code == 401
    assert client.post("/api/score", files={"file": ("a.wav", b"RIFF")}).status_code == 401  # before any decoding
    assert client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    page = client.get("/live")
    assert page.status_code == 401 and 'action="/login"' in page.text
    assert client.get("/static/style.css").status_code == 200  # assets carry no data


def test_the_login_form_sets_a_strict_http_only_cookie(client):
    assert client.post("/login", data={"token": "not-it-but-long-enough", "next": "/live"}).status_code == 401
    response = client.post("/login", data={"token": TOKEN, "next": "/live"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/live"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/live").status_code == 200  # the client kept the cookie
    assert client.get("/api/health").status_code == 200
    elsewhere = client.post("/login", data={"token": TOKEN, "next": "https://attacker.example/"},
                            follow_redirects=False)
    assert elsewhere.headers["location"] == "/"  # never redirected off this server


def test_the_token_is_compared_in_constant_time(client, monkeypatch):
    calls = []
    real = security.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    assert client.get("/api/health", headers={"Authorization": "Bearer guess-guess-guess-guess"}).status_code == 401
    assert client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert calls == [(b"guess-guess-guess-guess", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]


@pytest.mark.parametrize(("args", "message"), [
    (["--host", "0.0.0.0"], "binding 0.0.0.0 (not loopback) needs --token or --token-file"),
    (["--host", "::"], "binding :: (not loopback) needs --token or --token-file"),
    (["--host", "0.0.0.0", "--token", "short"], "the token must have at least 16 characters"),
    (["--token-file", "/nonexistent/token"], "--token-file /nonexistent/token: No such file or directory"),
    (["--curve-secret", "web.key_secret"], "connecting with --curve-secret needs --curve-server-key FILE"),
])
def test_an_unsafe_start_is_one_error_line_and_exit_2(args, message):
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "web", "--port", "0", *args], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"voxwatch: error: {message}"), proc.stderr
    assert proc.stdout == ""


def test_a_port_in_use_is_one_error_line_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "voxwatch", "web", "--port", str(port)], capture_output=True,
                              text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"voxwatch: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_a_real_server_with_a_token_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    (tmp_path / "ev").mkdir()
    server = WebServer("--token-file", str(token_file), "--evidence-dir", str(tmp_path / "ev"))
    try:
        assert httpx.get(f"{server.url}/api/health").status_code == 401
        response = httpx.get(f"{server.url}/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200 and response.json()["status"] == "ok"
    finally:
        err = server.close()
    assert "Traceback" not in err
