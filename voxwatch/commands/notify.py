"""``voxwatch notify``: deliver alerts to webhooks, commands, the desktop and MQTT (a subscriber, like ``tail``).

It connects to one daemon or a broker with the same ``--connect``/``--topic``/``--curve-*`` options as ``tail``,
and passes each event to ``voxwatch.notify.Notifier``. Being only a subscriber, it cannot slow the daemons: each
receiver has its own bounded queue (README, "Get alerts"). SIGINT/SIGTERM stop it; it then gives the receivers
``--drain`` seconds for what is queued and prints its counters on stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from typing import Any

from voxwatch.commands.curve_options import add_curve_arguments, curve_from_args
from voxwatch.config import DEFAULT_PUBLISH_URL

HELP = "deliver alerts to webhooks, a command, desktop notifications or MQTT (Home Assistant)"
log = logging.getLogger(__name__)
DEFAULT_TOPIC = "voxwatch.alert."
_REPORT_EVERY_S = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", action="append", metavar="URL",
                        help=f"daemon or broker endpoint (repeatable; default {DEFAULT_PUBLISH_URL})")
    parser.add_argument("--topic", action="append", metavar="PREFIX",
                        help=f"topic prefix to deliver (repeatable; default {DEFAULT_TOPIC}, i.e. alerts only)")
    parser.add_argument("--verdict", action="append", choices=("fake", "uncertain", "real"),
                        help="deliver only alerts/verdicts with this verdict (repeatable; default all), e.g. "
                             "--topic voxwatch.verdict. --verdict uncertain for a review queue")
    sinks = parser.add_argument_group("receivers (at least one)")
    sinks.add_argument("--webhook", action="append", metavar="URL",
                       help="POST each event's JSON to this http(s) URL (repeatable; https is verified)")
    sinks.add_argument("--header", action="append", metavar="'NAME: VALUE'",
                       help="extra HTTP header for every webhook, e.g. 'Authorization: Bearer TOKEN' (repeatable)")
    sinks.add_argument("--exec", action="append", dest="exec_", metavar="CMD",
                       help="run CMD per event with the event JSON on standard input (split like a shell "
                            "would, never run by one; repeatable)")
    sinks.add_argument("--desktop", action="store_true", help="a desktop notification per event (notify-send)")
    sinks.add_argument("--mqtt", metavar="HOST[:PORT]",
                       help="publish to this MQTT broker: one Home Assistant binary_sensor per stream, ON with an "
                            "alert and OFF after its refractory period (port 1883, 8883 with --mqtt-tls; needs the "
                            "mqtt extra)")
    mqtt = parser.add_argument_group("MQTT (with --mqtt)")
    mqtt.add_argument("--mqtt-topic", metavar="PREFIX", default="voxwatch",
                      help="topic prefix of the sensors' state, attributes and availability (default voxwatch; "
                           "--topic is the ZeroMQ stream's)")
    mqtt.add_argument("--mqtt-discovery-prefix", metavar="PREFIX", default="homeassistant",
                      help="Home Assistant's discovery prefix (default homeassistant)")
    mqtt.add_argument("--mqtt-tls", action="store_true", help="connect with TLS; the broker's certificate and host "
                      "name are verified")
    mqtt.add_argument("--mqtt-cafile", metavar="FILE", help="CA certificates to verify the broker with (default: the "
                      "system's)")
    mqtt.add_argument("--mqtt-user", metavar="USER", help="user name to log in with")
    mqtt.add_argument("--mqtt-password-file", metavar="FILE",
                      help="the password is this file's first line (default: $VOXWATCH_MQTT_PASSWORD; never on "
                           "the command line, where every user could read it)")
    tuning = parser.add_argument_group("delivery")
    tuning.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="per attempt: HTTP timeout / command run time / MQTT acknowledgement (default 5)")
    tuning.add_argument("--retries", type=int, default=3, metavar="N",
                        help="retries after a failed attempt, with backoff 0.5 s doubling up to 10 s (default 3)")
    tuning.add_argument("--queue", type=int, default=100, metavar="N",
                        help="events waiting per receiver; when full the oldest is dropped and counted "
                             "(default 100)")
    tuning.add_argument("--cafile", metavar="FILE", help="CA certificates to verify https webhooks with "
                        "(default: the system's)")
    tuning.add_argument("--drain", type=float, default=5.0, metavar="S",
                        help="on exit, wait at most S seconds for queued deliveries (default 5)")
    parser.add_argument("--for", dest="duration", type=float, metavar="S", help="exit after S seconds")
    add_curve_arguments(parser)


def build_sinks(args: argparse.Namespace) -> list[Any]:
    """The receivers the options ask for; a ConfigError (one line, exit 2) for a wrong one."""
    from voxwatch.errors import ConfigError
    from voxwatch.notify.command_sink import CommandSink, DesktopSink
    from voxwatch.notify.webhook import WebhookSink, parse_header

    headers = dict(parse_header(h) for h in args.header or [])
    if headers and not args.webhook:
        raise ConfigError("--header needs --webhook")
    sinks: list[Any] = [WebhookSink(url, headers, args.timeout, args.cafile) for url in args.webhook or []]
    sinks += [CommandSink(command, args.timeout) for command in args.exec_ or []]
    if args.desktop:
        sinks.append(DesktopSink(args.timeout))
    if args.mqtt:
        sinks.append(mqtt_sink_from_args(args))
    else:
        given = [name for name in _MQTT_ONLY if getattr(args, name)]
        if given:
            raise ConfigError(f"--{given[0].replace('_', '-')} needs --mqtt HOST")
    if not sinks:
        raise ConfigError("no receiver: give --webhook URL, --exec CMD, --desktop and/or --mqtt HOST")
    return sinks


_MQTT_ONLY = ("mqtt_tls", "mqtt_cafile", "mqtt_user", "mqtt_password_file")


def mqtt_sink_from_args(args: argparse.Namespace) -> Any:
    """The ``--mqtt`` receiver; a ConfigError if paho-mqtt (the ``mqtt`` extra) is missing."""
    import os

    from voxwatch.errors import ConfigError

    try:
        from voxwatch.notify.mqtt_messages import Topics
        from voxwatch.notify.mqtt_sink import MqttSettings, MqttSink, parse_broker, read_password
    except ImportError as exc:
        raise ConfigError(f"--mqtt needs paho-mqtt ({exc.name} is missing): pip install 'voxwatch[mqtt]'") from None
    host, port = parse_broker(args.mqtt, args.mqtt_tls)
    settings = MqttSettings(host, port, tls=args.mqtt_tls, cafile=args.mqtt_cafile, username=args.mqtt_user,
                            password=read_password(args.mqtt_password_file, os.environ),
                            topics=Topics(args.mqtt_topic, args.mqtt_discovery_prefix), timeout_s=args.timeout)
    return MqttSink(settings)


def run(args: argparse.Namespace) -> int:
    from voxwatch.notify.delivery import DeliverySettings
    from voxwatch.notify.notifier import Notifier
    from voxwatch.transport.subscriber import EventSubscriber

    settings = DeliverySettings(queue_size=args.queue, retries=args.retries)
    notifier = Notifier(build_sinks(args), settings, frozenset(args.verdict) if args.verdict else None)
    curve = curve_from_args(args, binds=False, connects=True)
    notifier.start()  # a receiver that connects (MQTT) fails here, with one line, before any event is read
    try:
        subscriber = EventSubscriber(args.connect or [DEFAULT_PUBLISH_URL], args.topic or [DEFAULT_TOPIC],
                                     configure_socket=curve)
    except BaseException:
        notifier.close(0.0)
        raise
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    deadline = None if args.duration is None else time.monotonic() + args.duration
    next_report = time.monotonic() + _REPORT_EVERY_S
    log.info("delivering %s from %s to: %s", ", ".join(args.topic or [DEFAULT_TOPIC]),
             ", ".join(subscriber.urls), "; ".join(d.sink.name for d in notifier.deliveries))
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            event = subscriber.receive(200)
            if event is not None:
                notifier.deliver(event[1])
            if time.monotonic() >= next_report:
                next_report += _REPORT_EVERY_S
                for line in notifier.report():
                    log.info("counters: %s", line)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        subscriber.close()
        notifier.close(args.drain)
        for line in notifier.report():
            print(f"voxwatch: notify: {line}", file=sys.stderr)
        sys.stderr.flush()
    return 0
