"""``voxwatch notify --mqtt``: Home Assistant discovery and ON/OFF sensors, against a real Mosquitto broker.

Each broker test starts its own ``mosquitto`` (``mqtt_broker.Mosquitto``: loopback, free ports, a login required,
a TLS listener with a certificate made in the test) and watches it with a paho subscriber. Alerts come from a
real ``voxwatch replay`` or from an ``EventPublisher``, through a ``voxwatch notify`` subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from daemon_helpers import free_port, voxwatch, write_config
from helpers import LOUDNESS_TOML

from voxwatch.config import PublishSettings
from voxwatch.errors import ConfigError
from voxwatch.notify.alert_sensors import AlertSensors, SensorKey, hold_seconds, sensor_key
from voxwatch.notify.mqtt_messages import Topics, alert_attributes, discovery_config, topic_id
from voxwatch.pipeline.decision import Judgement
from voxwatch.pipeline.types import JudgementEvent
from voxwatch.transport.publisher import EventPublisher


def _paho():
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        if os.environ.get("VOXWATCH_REQUIRE_ALL_TESTS"):
            pytest.fail("paho-mqtt missing (the mqtt extra)")
        pytest.skip("paho-mqtt missing (pip install '.[mqtt]')")


@pytest.fixture
def broker(tmp_path):
    _paho()
    from mqtt_broker import Mosquitto

    b = Mosquitto(tmp_path / "broker")
    yield b
    b.stop()


@pytest.fixture
def recorder(broker):
    from mqtt_broker import Recorder

    r = Recorder(broker)
    yield r
    r.close()


def alert(stream: str = "call-7.wav", daemon: str = "desk.1", **extra) -> dict:
    return {"schema": 1, "type": "alert", "daemon": {"id": daemon, "host": "h", "pid": 1}, "stream": stream,
            "seq": 0, "ts": 1.0, "utterance": 2, "start_s": 1.0, "end_s": 3.0, "score": 0.93, "threshold": 0.5,
            "verdict": "fake", "windows": 2, "early": True, "model": {"id": "m", "sha256": "s"}, "latency_ms": 1.0,
            **extra}


# --- the protocol mapping and the sensor state, without a broker ---

def test_discovery_config_names_one_binary_sensor_per_stream_with_topic_safe_ids():
    topics = Topics("home/voxwatch", "homeassistant")
    key = sensor_key(alert())
    assert key == SensorKey("desk.1", "call-7.wav") and topic_id("call #7.wav") == "call_7_wav"
    assert topics.discovery(key) == "homeassistant/binary_sensor/desk_1/call-7_wav/config"
    assert topics.state(key) == "home/voxwatch/desk_1/call-7_wav/state"
    config = discovery_config(topics, key)
    assert config["name"] == "synthetic voice detected" and config["device_class"] == "safety"
    assert config["unique_id"] == "voxwatch_desk_1_call-7_wav"
    assert (config["state_topic"], config["payload_on"], config["payload_off"]) == (topics.state(key), "ON", "OFF")
    assert (config["availability_topic"], config["payload_available"], config["payload_not_available"]) == \
        ("home/voxwatch/availability", "online", "offline")
    assert config["json_attributes_topic"] == topics.attributes(key)
    assert config["device"]["name"] == "voxwatch call-7.wav on desk.1"
    other = discovery_config(topics, SensorKey("desk.1", "system-audio"))
    assert other["unique_id"] != config["unique_id"] and other["device"]["name"] != config["device"]["name"]
    assert sensor_key({"type": "status", "stream": None}) is None


@pytest.mark.parametrize("prefix", ["", "a/#", "+/x", "/voxwatch", "voxwatch/"])
def test_topic_prefixes_without_wildcards_or_empty_levels(prefix):
    with pytest.raises(ConfigError, match="--mqtt-topic"):
        Topics(prefix)


def test_an_alert_holds_its_sensor_on_for_the_refractory_period_it_carries():
    assert hold_seconds(alert(refractory_s=30.0)) == 30.0
    assert hold_seconds(alert()) == 5.0  # an older daemon: the default refractory period
    assert hold_seconds(alert(refractory_s=True)) == 5.0
    sensors, a, b = AlertSensors(), SensorKey("d", "a"), SensorKey("d", "b")
    assert sensors.see(b) and not sensors.see(b)
    sensors.turn_on(a, now=100.0, hold_s=5.0)
    assert sensors.states() == [(b, False), (a, True)] and sensors.next_change() == 105.0
    assert sensors.expire(104.9) == []
    sensors.turn_on(a, now=104.0, hold_s=5.0)  # a new alert within the period extends it
    sensors.turn_on(a, now=104.5, hold_s=1.0)  # ... and a shorter one does not cut it short
    assert sensors.expire(108.9) == [] and sensors.expire(109.0) == [a]
    assert sensors.next_change() is None
    assert sensors.states() == [(b, False), (a, False)]  # in the order first seen
    sensors.turn_on(b, now=0.0, hold_s=60.0)
    assert sensors.turn_all_off() == [b] and sensors.states() == [(b, False), (a, False)]


def test_alert_attributes_are_flat():
    attributes = alert_attributes(alert(refractory_s=5.0))
    assert attributes == {"daemon": "desk.1", "stream": "call-7.wav", "score": 0.93, "threshold": 0.5,
                          "utterance": 2, "start_s": 1.0, "end_s": 3.0, "early": True, "refractory_s": 5.0,
                          "ts": 1.0, "model": "m"}
    why = "verifier 0.97 >= 0.90 on 1.0-3.0 s; filter 0.93"
    cascade = alert_attributes(alert(stage="verifier", filter_score=0.93, verifier_score=0.97, why=why))
    assert (cascade["stage"], cascade["filter_score"], cascade["verifier_score"]) == ("verifier", 0.93, 0.97)
    assert cascade["why"] == why  # Home Assistant shows the reason beside the score


def test_broker_address_and_password_sources(tmp_path):
    _paho()
    from voxwatch.notify.mqtt_sink import PASSWORD_ENV, parse_broker, read_password

    assert parse_broker("mqtt.lan", tls=False) == ("mqtt.lan", 1883)
    assert parse_broker("mqtt.lan", tls=True) == ("mqtt.lan", 8883)
    assert parse_broker("10.0.0.2:1884", tls=True) == ("10.0.0.2", 1884)
    assert parse_broker("[::1]:8884", tls=False) == ("::1", 8884)
    for bad in ("host:port", ":1883", "host:", "[::1", "[::1]1883", "[::1]:"):
        with pytest.raises(ConfigError, match="expected HOST"):
            parse_broker(bad, tls=False)
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\nsecond line\n")
    assert read_password(str(secret), {PASSWORD_ENV: "from-env"}) == "from-the-file"
    assert read_password(None, {PASSWORD_ENV: "from-env"}) == "from-env"
    assert read_password(None, {}) is None
    with pytest.raises(ConfigError, match="cannot read"):
        read_password(str(tmp_path / "absent"), {})


@pytest.mark.parametrize("args, message", [
    (["--mqtt-user", "u"], "--mqtt-user needs --mqtt HOST"),
    (["--mqtt", "broker:port"], "expected HOST, HOST:PORT"),
    (["--mqtt", "127.0.0.1", "--mqtt-cafile", "ca.pem"], "--mqtt-cafile needs --mqtt-tls"),
    (["--mqtt", "127.0.0.1", "--mqtt-topic", "a/#"], "no wildcards"),
    (["--mqtt", f"127.0.0.1:{free_port()}"], "cannot reach the broker"),
])
def test_mqtt_user_errors_are_one_line(args, message):
    _paho()
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "notify", *args], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxwatch: error: ") and message in lines[0], proc.stderr


# --- against Mosquitto ---

def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("stage", ["filter", "verifier"])
def test_replay_alert_turns_the_sensor_on_and_off_after_the_refractory_period(tmp_path, broker, recorder,
                                                                              loud_model, audio_files, stage):
    """Whichever stage raises the alert (the verifier's alerts once carried refractory_s 0 and blinked the
    sensor), it carries the stream's refractory period and the sensor stays on that long."""
    from helpers import build_verifier_model
    from mqtt_broker import PASSWORD, USER, Recorder

    cascade = ""
    if stage == "verifier":
        verifier = build_verifier_model(tmp_path / "v.onnx", offset=-9.0, gate=0.0, threshold=0.3)
        cascade = f'[verifier]\nmodel = "{verifier}"\n'
    config = write_config(tmp_path / "config.toml", LOUDNESS_TOML + "[decision]\nrefractory_s = 2.0\n" + cascade)
    password = tmp_path / "mqtt.password"
    password.write_text(PASSWORD + "\n")
    url = f"tcp://127.0.0.1:{free_port()}"
    notify = voxwatch("notify", "--connect", url, "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-user", USER,
                      "--mqtt-password-file", str(password), "--for", "120")
    state, discovery = "voxwatch/desk-1/loud/state", "homeassistant/binary_sensor/desk-1/loud/config"
    try:
        recorder.wait_for(lambda m: m.topic == "voxwatch/availability" and m.payload == "online")
        replay = subprocess.run(
            [sys.executable, "-m", "voxwatch", "replay", "--fast", "--model", str(loud_model), "--config",
             str(config), "--publish", url, "--wait-subscribers", "20", "--daemon-id", "desk-1",
             str(audio_files["loud"])], capture_output=True, text=True, timeout=120)
        assert replay.returncode == 0, replay.stderr
        on = recorder.wait_for(lambda m: m.topic == state and m.payload == "ON")
        off = recorder.wait_for(lambda m: m.topic == state and m.payload == "OFF")
    finally:
        err = stop(notify)
    announced = recorder.wait_for(lambda m: m.topic == discovery)
    assert announced.at <= on.at < off.at
    assert off.at - on.at >= 1.0  # held for the alert's refractory period (2 s from the alert's arrival)
    assert [m.payload for m in recorder.on(state)] == ["ON", "OFF"]
    assert "1 event(s) received" in err and f"mqtt mqtt://127.0.0.1:{broker.port}/voxwatch: 1 delivered, 0 failed" \
        in err

    late = Recorder(broker)  # what Home Assistant reads when it (re)connects: the retained messages
    try:
        config_message = late.wait_for(lambda m: m.topic == discovery)
        for topic, payload in ((state, "OFF"), ("voxwatch/availability", "offline")):
            assert late.wait_for(lambda m, t=topic: m.topic == t).payload == payload
        attributes = json.loads(late.wait_for(lambda m: m.topic == "voxwatch/desk-1/loud/alert").payload)
    finally:
        late.close()
    assert config_message.retain
    config_body = json.loads(config_message.payload)
    assert config_body["name"] == "synthetic voice detected" and config_body["state_topic"] == state
    assert config_body["unique_id"] == "voxwatch_desk-1_loud" and config_body["device_class"] == "safety"
    assert attributes["stream"] == "loud" and attributes["daemon"] == "desk-1" and attributes["refractory_s"] == 2.0
    assert attributes["score"] >= attributes["threshold"]
    assert attributes["threshold"] == pytest.approx(0.3 if stage == "verifier" else 0.5)  # the deciding stage's


def test_tls_login_and_a_clean_exit_that_leaves_no_sensor_on(tmp_path, broker, recorder):
    from mqtt_broker import PASSWORD, USER

    pub = EventPublisher(PublishSettings(bind=("tcp://127.0.0.1:*",), daemon_id="room.12", heartbeat_s=0.5))
    pub.start()
    env = {**os.environ, "VOXWATCH_MQTT_PASSWORD": PASSWORD}
    notify = voxwatch("notify", "--connect", pub.bound[0], "--mqtt", f"localhost:{broker.tls_port}", "--mqtt-tls",
                      "--mqtt-cafile", str(broker.cafile), "--mqtt-user", USER, "--mqtt-topic", "home/voxwatch",
                      "--for", "120", env=env)
    state = "home/voxwatch/room_12/call-7_wav/state"
    try:
        assert pub.wait_for_subscribers(1, 20), "notify subscribed"
        judgement = Judgement("alert", 0, 16000, 48000, 0.9, 0.5, "fake", 2, True, refractory_s=600.0)
        pub.submit(JudgementEvent("call-7.wav", judgement, "m", "sha", 0.0))
        recorder.wait_for(lambda m: m.topic == state and m.payload == "ON")
        recorder.wait_for(lambda m: m.topic == "homeassistant/binary_sensor/room_12/call-7_wav/config")
    finally:
        err = stop(notify)
        pub.close(timeout=1)
    # the period would last 10 minutes; stopping notify turns the sensor off and says offline
    assert [m.payload for m in recorder.on(state)] == ["ON", "OFF"]
    assert recorder.wait_for(lambda m: m.topic == "home/voxwatch/availability" and m.payload == "offline")
    assert f"mqtt mqtts://localhost:{broker.tls_port}/home/voxwatch: 1 delivered, 0 failed" in err


@pytest.mark.parametrize("case", ["wrong password", "unverified certificate"])
def test_a_refused_login_or_certificate_is_one_error_line(tmp_path, broker, case):
    from mqtt_broker import PASSWORD, USER

    if case == "wrong password":
        args, env, message = ["--mqtt", f"127.0.0.1:{broker.port}"], "not-" + PASSWORD, "the broker refused"
    else:  # the system's CAs do not know the test's self-signed certificate
        args, env, message = ["--mqtt", f"localhost:{broker.tls_port}", "--mqtt-tls"], PASSWORD, "does not verify"
    proc = subprocess.run([sys.executable, "-m", "voxwatch", "notify", *args, "--mqtt-user", USER, "--for", "30"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "VOXWATCH_MQTT_PASSWORD": env})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxwatch: error: --mqtt ") and message in lines[0], proc.stderr


def test_after_a_broker_restart_every_sensor_state_is_published_again(tmp_path, broker):
    """The broker forgot everything (no persistence) and missed the OFF that came due while it was down."""
    from mqtt_broker import PASSWORD, USER, Recorder

    pub = EventPublisher(PublishSettings(bind=("tcp://127.0.0.1:*",), daemon_id="desk-1", heartbeat_s=0.5))
    pub.start()
    notify = voxwatch("notify", "--connect", pub.bound[0], "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-user",
                      USER, "--for", "120", env={**os.environ, "VOXWATCH_MQTT_PASSWORD": PASSWORD})
    state = "voxwatch/desk-1/mic/state"
    try:
        before = Recorder(broker)
        try:
            assert pub.wait_for_subscribers(1, 20), "notify subscribed"
            judgement = Judgement("alert", 0, 16000, 48000, 0.9, 0.5, "fake", 2, True, refractory_s=1.0)
            pub.submit(JudgementEvent("mic", judgement, "m", "sha", 0.0))
            before.wait_for(lambda m: m.topic == state and m.payload == "ON")
        finally:
            before.close()
        broker.stop()  # the alert's period ends while the broker is away
        broker.start()
        after = Recorder(broker)
        try:
            assert after.wait_for(lambda m: m.topic == state, timeout=60).payload == "OFF"
            after.wait_for(lambda m: m.topic == "homeassistant/binary_sensor/desk-1/mic/config")
            after.wait_for(lambda m: m.topic == "voxwatch/availability" and m.payload == "online")
        finally:
            after.close()
    finally:
        stop(notify)
        pub.close(timeout=1)
