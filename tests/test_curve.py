"""CURVE: key generation, and only allow-listed keys get events (a daemon that binds, the broker, the CLI)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

from voxwatch.cli import main
from voxwatch.commands.curve_options import curve_from_args
from voxwatch.config import PublishSettings
from voxwatch.errors import CurveError
from voxwatch.transport.broker import Broker, BrokerSettings
from voxwatch.transport.curve import CurveClient, CurveServer, generate_keys, load_key_pair, load_public_key
from voxwatch.transport.publisher import EventPublisher
from voxwatch.transport.subscriber import EventSubscriber

LOOPBACK_ANY = "tcp://127.0.0.1:*"


@pytest.fixture
def keys(tmp_path) -> dict[str, Path]:
    """Key pairs for a server, an allowed client, a second allowed client and an unknown one; allow/ has the two."""
    allow = tmp_path / "allow"
    allow.mkdir()
    paths: dict[str, Path] = {"allow": allow}
    for name in ("server", "good", "daemon", "stranger"):
        public, secret = generate_keys(tmp_path / "keys", name)
        paths[name], paths[f"{name}_public"] = secret, public
    for name in ("good", "daemon"):
        shutil.copy(paths[f"{name}_public"], allow / f"{name}.key")
    return paths


def drain(subscriber: EventSubscriber, seconds: float) -> list[dict]:
    bodies, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        event = subscriber.receive(int(left * 1000) + 1)
        if event:
            bodies.append(event[1])
    return bodies


def test_keys_generate_command(tmp_path, capsys):
    assert main(["keys", "generate", str(tmp_path / "k"), "--name", "host1"]) == 0
    public, secret = tmp_path / "k" / "host1.key", tmp_path / "k" / "host1.key_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert not stat.S_IMODE(public.stat().st_mode) & 0o022
    pub, sec = load_key_pair(secret)
    assert load_public_key(public) == pub and len(pub) == 40 and len(sec) == 40
    assert pub.decode() in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["host1.key", "host1.key_secret"]  # no leftovers
    assert main(["keys", "generate", str(tmp_path / "k"), "--name", "host1"]) == 2  # no silent overwrite
    assert "already exist" in capsys.readouterr().err
    assert load_key_pair(secret) == (pub, sec)
    assert main(["keys", "generate", str(tmp_path / "k"), "--name", "host1", "--force"]) == 0
    assert load_key_pair(secret)[0] != pub


def test_curve_arguments_must_fit_together(keys):
    def args(**kw):
        return argparse.Namespace(**{"curve_secret": None, "curve_server_key": None, "curve_allow": None, **kw})

    assert curve_from_args(args(), binds=True, connects=False) is None
    with pytest.raises(CurveError, match="--curve-allow"):
        curve_from_args(args(curve_secret=str(keys["server"])), binds=True, connects=False)
    with pytest.raises(CurveError, match="--curve-server-key"):
        curve_from_args(args(curve_secret=str(keys["good"])), binds=False, connects=True)
    with pytest.raises(CurveError, match="need --curve-secret"):
        curve_from_args(args(curve_server_key=str(keys["server_public"])), binds=False, connects=True)
    with pytest.raises(CurveError, match="both binds and connects"):
        curve_from_args(args(curve_secret=str(keys["server"]), curve_allow=str(keys["allow"])), binds=True,
                        connects=True)
    with pytest.raises(CurveError, match="no secret key"):
        curve_from_args(args(curve_secret=str(keys["good_public"]), curve_server_key=str(keys["server_public"])),
                        binds=False, connects=True)
    client = curve_from_args(args(curve_secret=str(keys["good"]), curve_server_key=str(keys["server_public"])),
                             binds=False, connects=True)
    assert isinstance(client, CurveClient)


def test_allow_list_follows_the_directory(keys, caplog):
    from voxwatch.transport.curve import AllowList

    allow = AllowList(keys["allow"])
    good, stranger = (load_public_key(keys[f"{n}_public"]) for n in ("good", "stranger"))
    assert allow.callback("voxwatch", good) and not allow.callback("voxwatch", stranger)
    assert stranger.decode() in caplog.text
    shutil.copy(keys["stranger_public"], keys["allow"] / "stranger.key")  # added: admitted without a restart
    assert allow.callback("voxwatch", stranger)
    (keys["allow"] / "good.key").unlink()  # removed: refused from the next handshake
    assert not allow.callback("voxwatch", good)
    with pytest.raises(CurveError, match="not a directory"):
        AllowList(keys["allow"] / "missing")


def curve_publisher(keys) -> tuple[zmq.Context, CurveServer, EventPublisher]:
    """A started publisher that binds as CURVE server with the fixture's allow-list."""
    ctx = zmq.Context()
    server = CurveServer(keys["server"], keys["allow"])
    publisher = EventPublisher(PublishSettings(bind=(LOOPBACK_ANY,), daemon_id="bound", heartbeat_s=0.1,
                                               linger_ms=0), context=ctx, configure_socket=server)
    publisher.start()
    return ctx, server, publisher


def test_daemon_that_binds_serves_only_allowed_keys(keys, caplog):
    caplog.set_level(logging.WARNING)
    ctx, server, publisher = curve_publisher(keys)
    url = publisher.bound[0]
    allowed = EventSubscriber([url], context=ctx, configure_socket=CurveClient(keys["good"], keys["server_public"]))
    unknown = EventSubscriber([url], context=ctx,
                              configure_socket=CurveClient(keys["stranger"], keys["server_public"]))
    plain = EventSubscriber([url], context=ctx)
    try:
        got_allowed = drain(allowed, 1.5)
        got_unknown = drain(unknown, 0.3)
        got_plain = drain(plain, 0.3)
    finally:
        for sub in (allowed, unknown, plain):
            sub.close()
        publisher.close(timeout=2)
        server.close()
        ctx.term()
    assert len(got_allowed) >= 5 and {b["daemon"]["id"] for b in got_allowed} == {"bound"}
    assert got_unknown == [] and got_plain == []
    stranger = load_public_key(keys["stranger_public"]).decode()
    log_text = caplog.text
    assert f"unknown public key {stranger}" in log_text  # the refused key is logged
    assert "refused our CURVE key" in log_text  # and the refused client says why it gets nothing
    assert server.allow.denied >= 1 and server.allow.allowed >= 1


def test_broker_with_curve_passes_only_allowed_daemons_and_consumers(keys, caplog):
    caplog.set_level(logging.WARNING)
    server = CurveServer(keys["server"], keys["allow"])
    broker = Broker(BrokerSettings(frontend=(LOOPBACK_ANY,), backend=(LOOPBACK_ANY,), heartbeat_s=0.1),
                    configure_socket=server)
    broker.start()
    ctx = zmq.Context()
    frontend, backend = broker.frontend_endpoints[0], broker.backend_endpoints[0]
    consumers = {
        "allowed": EventSubscriber([backend], context=ctx,
                                   configure_socket=CurveClient(keys["good"], keys["server_public"])),
        "unknown": EventSubscriber([backend], context=ctx,
                                   configure_socket=CurveClient(keys["stranger"], keys["server_public"])),
        "plain": EventSubscriber([backend], context=ctx),
    }
    daemons = {
        name: EventPublisher(PublishSettings(bind=(), connect=(frontend,), daemon_id=name, heartbeat_s=0.1,
                                             linger_ms=0), context=ctx,
                             configure_socket=CurveClient(keys[key], keys["server_public"]))
        for name, key in (("trusted", "daemon"), ("rogue", "stranger"))
    }
    for daemon in daemons.values():
        daemon.start()
    try:
        got = {name: drain(sub, 2.0 if name == "allowed" else 0.3) for name, sub in consumers.items()}
    finally:
        for daemon in daemons.values():
            daemon.close(timeout=2)
        for sub in consumers.values():
            sub.close()
        ctx.term()
        broker.stop()
    ids = {b["daemon"]["id"] for b in got["allowed"]}
    assert "trusted" in ids and any(i.startswith("broker-") for i in ids)
    assert "rogue" not in ids  # a daemon with an unknown key cannot inject events
    assert got["unknown"] == [] and got["plain"] == []
    assert server.allow.denied >= 2  # the rogue daemon and the unknown consumer
    assert broker.counters.daemons.keys() == {"trusted"}
    status = broker.status_fields()["counters"]
    assert status["auth_failures"] >= 2 and status["handshake_failures"] >= 1  # the plain client


def test_non_loopback_bind_warns_only_without_curve(keys, caplog):
    caplog.set_level(logging.WARNING)
    for curve in (None, CurveServer(keys["server"], keys["allow"])):
        caplog.clear()
        ctx = zmq.Context()
        publisher = EventPublisher(PublishSettings(bind=("tcp://0.0.0.0:*",), linger_ms=0), context=ctx,
                                   configure_socket=curve)
        publisher.start()
        publisher.close(timeout=1)
        if curve:
            curve.close()
        ctx.term()
        assert ("without CURVE" in caplog.text) is (curve is None)


def test_cli_fleet_with_curve(tmp_path, keys, loud_model, loud_config, audio_files):
    """voxwatch broker / replay --connect / tail with CURVE keys: the allowed tail gets the verdicts, a plain tail
    and one with an unknown key get nothing, and the broker logs the refused key."""
    vox = [sys.executable, "-m", "voxwatch"]
    broker = subprocess.Popen(vox + ["broker", "--frontend", LOOPBACK_ANY, "--backend", LOOPBACK_ANY,
                                     "--heartbeat", "0.5", "--curve-secret", str(keys["server"]),
                                     "--curve-allow", str(keys["allow"])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs = [broker]
    try:
        line = broker.stderr.readline()
        frontend, backend = re.findall(r"tcp://127\.0\.0\.1:\d+", line)
        client = ["--curve-server-key", str(keys["server_public"])]
        tails = {
            "allowed": vox + ["tail", "--connect", backend, "--topic", "voxwatch.verdict", "--count", "2",
                              "--timeout", "40", "--curve-secret", str(keys["good"])] + client,
            "unknown": vox + ["tail", "--connect", backend, "--timeout", "6", "--curve-secret",
                              str(keys["stranger"])] + client,
            "plain": vox + ["tail", "--connect", backend, "--timeout", "6"],
        }
        running = {name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for name, cmd in tails.items()}
        procs += running.values()
        replay = subprocess.run(vox + ["replay", "--fast", "--model", str(loud_model), "--config", str(loud_config),
                                       "--connect", frontend, "--daemon-id", "curvy", "--wait-subscribers", "20",
                                       "--curve-secret", str(keys["daemon"])] + client + [str(audio_files["two"])],
                                capture_output=True, text=True, timeout=60)
        assert replay.returncode == 0, replay.stderr
        outputs = {name: proc.communicate(timeout=45) for name, proc in running.items()}
        broker.send_signal(2)  # SIGINT: clean exit
        _, broker_err = broker.communicate(timeout=10)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    verdicts = [json.loads(x) for x in outputs["allowed"][0].splitlines()]
    assert [(v["daemon"]["id"], v["verdict"]) for v in verdicts] == [("curvy", "fake"), ("curvy", "real")]
    assert outputs["unknown"][0] == "" and outputs["plain"][0] == ""
    assert "refused our CURVE key" in outputs["unknown"][1]
    assert broker.returncode == 0 and "Traceback" not in broker_err
    assert load_public_key(keys["stranger_public"]).decode() in broker_err
    assert os.path.exists(keys["server"])


def test_refused_client_logs_a_refusal_once_not_malformed_frames(keys, caplog):
    """A client the allow-list refuses keeps being refused: that is one 'refused our CURVE key' line (rate-limited
    per server), counted as auth failures, never 'sent a malformed frame' nor counted as malformed."""
    caplog.set_level(logging.WARNING)
    ctx, server, publisher = curve_publisher(keys)
    unknown = EventSubscriber([publisher.bound[0]], context=ctx,
                              configure_socket=CurveClient(keys["stranger"], keys["server_public"]))
    try:
        got = drain(unknown, 4.0)
    finally:
        unknown.close()
        publisher.close(timeout=2)
        server.close()
        ctx.term()
    assert got == []
    assert "malformed frame" not in caplog.text
    assert unknown.malformed == 0 and unknown.auth_failures >= 2  # refused again on each reconnect
    assert caplog.text.count("refused our CURVE key") == 1
    assert caplog.text.count("unknown public key") == 1  # the server side, once a minute per key
