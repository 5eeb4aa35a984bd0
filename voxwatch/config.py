"""Configuration: a TOML file (read with ``tomllib``) mapped onto frozen dataclasses.

``configs/default.toml`` documents every key. Every section and key is optional: what a file leaves out keeps its
default, and an unknown section or key is an error (a typo must not be silently ignored).
"""

from __future__ import annotations

import dataclasses
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxwatch.errors import ConfigError
from voxwatch.pipeline.cascade import VerifierSettings
from voxwatch.pipeline.decision import DecisionSettings
from voxwatch.pipeline.mic import CaptureSettings
from voxwatch.pipeline.stages.filter.features import FeatureSettings
from voxwatch.pipeline.types import PipelineSettings
from voxwatch.pipeline.vad import VadSettings
from voxwatch.pipeline.windower import WindowSettings

DEFAULT_PUBLISH_URL = "tcp://127.0.0.1:5556"


@dataclass(frozen=True)
class PublishSettings:
    """Where and how events go out (see voxwatch.transport.publisher)."""

    bind: tuple[str, ...] = (DEFAULT_PUBLISH_URL,)
    connect: tuple[str, ...] = ()
    daemon_id: str = ""  # "" means the host name
    heartbeat_s: float = 5.0
    sndhwm: int = 10000
    queue_size: int = 10000
    linger_ms: int = 2000
    max_message_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if self.heartbeat_s <= 0 or self.sndhwm <= 0 or self.queue_size <= 0:
            raise ConfigError("publish.heartbeat_s, sndhwm and queue_size must be > 0")

    @property
    def resolved_daemon_id(self) -> str:
        return self.daemon_id or socket.gethostname()


@dataclass(frozen=True)
class EvidenceSettings:
    """The evidence store: each alert's audio as FLAC + JSON sidecar (see voxwatch.daemon.evidence)."""

    enabled: bool = True
    dir: str = ""  # "" means $XDG_STATE_HOME/voxwatch/evidence (~/.local/state/voxwatch/evidence)
    max_files: int = 500  # unreviewed clips kept; the oldest are deleted first
    max_mb: float = 200.0  # total size of unreviewed clips (FLAC + sidecars)
    pad_s: float = 0.5  # audio kept before and after the alerted span
    history_s: float = 45.0  # per-stream recent audio held in memory to cut clips from

    def __post_init__(self) -> None:
        if self.max_files <= 0 or self.max_mb <= 0 or self.pad_s < 0 or self.history_s <= 0:
            raise ConfigError("evidence.max_files, max_mb and history_s must be > 0 and pad_s >= 0")

    @property
    def path(self) -> Path:
        if self.dir:
            return Path(self.dir).expanduser()
        import os

        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(state) / "voxwatch" / "evidence"


@dataclass(frozen=True)
class MetricsSettings:
    """The optional Prometheus endpoint (see voxwatch.daemon.metrics)."""

    enabled: bool = False
    address: str = "127.0.0.1"  # loopback by default; anything else prints a warning
    port: int = 9356

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError("metrics.port must be in 0..65535")


@dataclass(frozen=True)
class VoicesSettings:
    """Clone watch's enrolled voices (``voxwatch voices``; see voxwatch.voices)."""

    dir: str = ""  # "" means $XDG_DATA_HOME/voxwatch/voices (~/.local/share/voxwatch/voices)
    watch: bool = True  # run and replay check speech against the voices enrolled here (clone watch)

    @property
    def path(self) -> Path:
        if self.dir:
            return Path(self.dir).expanduser()
        from voxwatch.voices.voiceprint import default_voices_dir

        return default_voices_dir()


@dataclass(frozen=True)
class Config:
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    voices: VoicesSettings = field(default_factory=VoicesSettings)
    model: str = ""  # path to a .onnx (its .json beside it); "" means the bundled default model
    source: str = "<defaults>"
    # the model-bound settings the file sets itself ("features", "window.window_s"); the others come from the model
    # card (voxwatch.model_loading.fit_to_card)
    explicit: frozenset[str] = frozenset()


_SECTIONS = {
    "features": FeatureSettings,
    "vad": VadSettings,
    "window": WindowSettings,
    "decision": DecisionSettings,
}


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise ConfigError(f"[{section}]: unknown key(s) {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for key, value in values.items():
        default = getattr(cls(), key) if key != "threshold" else None
        if isinstance(default, tuple):
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list):
                raise ConfigError(f"[{section}] {key}: expected a list")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"[{section}] {key}: expected true or false")
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif default is not None and not isinstance(value, type(default)):
            raise ConfigError(f"[{section}] {key}: expected {type(default).__name__}, got {value!r}")
        clean[key] = value
    try:
        return cls(**clean)
    except TypeError as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def _decision(values: dict[str, Any], section: str = "decision") -> DecisionSettings:
    values = dict(values)
    threshold = values.pop("threshold", "model")
    if threshold == "model":
        threshold = None
    elif isinstance(threshold, int | float) and not isinstance(threshold, bool):
        threshold = float(threshold)
    else:
        raise ConfigError(f'[{section}] threshold: expected a number in [0, 1] or "model"')
    base = _build(DecisionSettings, values, section)
    try:
        return dataclasses.replace(base, threshold=threshold)
    except ConfigError as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def _stream_decisions(streams: Any, decision: dict[str, Any], source: str) -> tuple[tuple[str, DecisionSettings], ...]:
    """``[streams.<id>]`` tables: each stream's ``[decision]`` with the keys its table sets replaced."""
    if not isinstance(streams, dict) or not all(isinstance(v, dict) for v in streams.values()):
        raise ConfigError(f"{source}: [streams] must hold one table per stream id, e.g. [streams.system-audio]")
    return tuple((stream_id, _decision({k: v for k, v in {**decision, **values}.items()
                                        if k not in ("verifier", "expect_voice")}, f"streams.{stream_id}"))
                 for stream_id, values in streams.items())


def _stream_voices(streams: Any) -> tuple[tuple[str, str], ...]:
    """``expect_voice = "NAME"`` in ``[streams.<id>]``: all speech on that stream is judged against that voice
    (whether the voice is enrolled is checked where the voices are loaded: ``voxwatch.voices.watch``)."""
    from voxwatch.voices.voiceprint import VoiceprintError, check_name

    out = []
    for stream_id, values in (streams or {}).items():
        if isinstance(values, dict) and "expect_voice" in values:
            name = values["expect_voice"]
            if not isinstance(name, str):
                raise ConfigError(f"[streams.{stream_id}] expect_voice: expected a voice name, got {name!r}")
            try:
                check_name(name)
            except VoiceprintError as exc:
                raise ConfigError(f"[streams.{stream_id}] expect_voice: {exc}") from None
            out.append((stream_id, name))
    return tuple(out)


def _verifier(values: dict[str, Any], section: str, source: str) -> VerifierSettings:
    """``[verifier]``: gate and the thresholds take a number or "model" (the verifier card's)."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: [{section}] must be a table")
    values = dict(values)
    numbers: dict[str, float | None] = {}
    for key in ("gate", "threshold", "telephone_threshold", "short_threshold"):
        value = values.pop(key, "model")
        if value == "model":
            numbers[key] = None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            numbers[key] = float(value)
        else:
            raise ConfigError(f'[{section}] {key}: expected a number in [0, 1] or "model"')
    base = _build(VerifierSettings, values, section)
    model = base.model
    if model and not Path(model).expanduser().is_absolute() and source not in ("<dict>", "<defaults>"):
        model = str((Path(source).parent / Path(model).expanduser()).resolve())
    try:
        return dataclasses.replace(base, model=model, **numbers)
    except ConfigError as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def _stream_verifiers(streams: Any, verifier: dict[str, Any], source: str) -> tuple[tuple[str, VerifierSettings], ...]:
    """``[streams.<id>.verifier]`` tables: the stream's ``[verifier]`` with the keys its table sets replaced."""
    out = []
    for stream_id, values in (streams or {}).items():
        if isinstance(values, dict) and "verifier" in values:
            own = values["verifier"]
            if not isinstance(own, dict) or set(own) - {"enabled", "gate", "threshold", "telephone_threshold",
                                                        "short_threshold"}:
                raise ConfigError(f"{source}: [streams.{stream_id}.verifier] takes enabled, gate, threshold, "
                                  "telephone_threshold and short_threshold")
            out.append((stream_id, _verifier({**verifier, **own}, f"streams.{stream_id}.verifier", source)))
    return tuple(out)


def config_from_dict(data: dict[str, Any], source: str = "<dict>") -> Config:
    data = dict(data)
    known = set(_SECTIONS) | {"pipeline", "publish", "model", "capture", "evidence", "metrics", "streams", "verifier",
                           "voices"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}")
    parts: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        values = data.get(name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        parts[name] = _decision(values) if name == "decision" else _build(cls, values, name)
    pipeline_values = data.get("pipeline", {})
    sections = set(_SECTIONS) | {"stream_decisions", "verifier", "stream_verifiers", "stream_voices"}
    nested = set(pipeline_values) & sections if isinstance(pipeline_values, dict) \
        else set()
    if nested:
        raise ConfigError(f"[pipeline]: unknown key(s) {', '.join(sorted(nested))}")
    base_pipeline = _build(PipelineSettings, pipeline_values, "pipeline") if pipeline_values else PipelineSettings()
    parts["stream_decisions"] = _stream_decisions(data.get("streams", {}), data.get("decision", {}), source)
    verifier_values = data.get("verifier", {})
    parts["verifier"] = _verifier(verifier_values, "verifier", source)
    parts["stream_verifiers"] = _stream_verifiers(data.get("streams", {}), verifier_values, source)
    parts["stream_voices"] = _stream_voices(data.get("streams", {}))
    pipeline = dataclasses.replace(base_pipeline, **parts)
    publish = _build(PublishSettings, data.get("publish", {}), "publish")
    model_section = data.get("model", {})
    if not isinstance(model_section, dict) or set(model_section) - {"path"}:
        raise ConfigError(f"{source}: [model] takes only 'path'")
    model = _from_file(str(model_section.get("path", "")), source)
    capture = _build(CaptureSettings, data.get("capture", {}), "capture")
    evidence = _build(EvidenceSettings, data.get("evidence", {}), "evidence")
    evidence = dataclasses.replace(evidence, dir=_from_file(evidence.dir, source))
    metrics = _build(MetricsSettings, data.get("metrics", {}), "metrics")
    voices = _build(VoicesSettings, data.get("voices", {}), "voices")
    voices = dataclasses.replace(voices, dir=_from_file(voices.dir, source))
    explicit = frozenset(({"features"} if data.get("features") else set())
                         | ({"window.window_s"} if "window_s" in data.get("window", {}) else set()))
    return Config(pipeline=pipeline, publish=publish, capture=capture, evidence=evidence, metrics=metrics,
                  voices=voices, model=model, source=source, explicit=explicit)


def _from_file(path: str, source: str) -> str:
    """A path a config file gives (``[model] path``, ``[evidence] dir``, ``[voices] dir``): ``~`` expanded, a
    relative one taken from the file's folder; as given where the config was not read from a file."""
    if not path or source in ("<dict>", "<defaults>"):
        return path
    full = Path(path).expanduser()
    return str(full if full.is_absolute() else (Path(source).parent / full).resolve())


def load_config(path: Path | str | None) -> Config:
    """Read a TOML config; ``None`` gives the built-in defaults (identical to configs/default.toml)."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return config_from_dict(data, str(path))
