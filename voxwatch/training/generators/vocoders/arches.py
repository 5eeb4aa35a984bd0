"""The architectures by name, their generator families, and the checkpoint format shared by train and twins.

A checkpoint holds the architecture's name, its config and weights; its model id (``<arch>-<hash of the
weights>``) becomes the twins' ``version``, so a row always names the exact vocoder that made it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxwatch.training.generators.vocoders.hifigan import HifiGan, HifiGanConfig
from voxwatch.training.generators.vocoders.istft import IstftConfig, IstftVocoder


class VocoderError(RuntimeError):
    """A checkpoint or data set the vocoders cannot use (one line for the user)."""


@dataclass(frozen=True)
class Arch:
    build: Callable[[Any], nn.Module]
    config: type
    family: str  # the manifest's generator family of its twins
    learning_rate: float


ARCHES = {
    "hifigan": Arch(HifiGan, HifiGanConfig, "gan-vocoder", 5e-4),
    "istft": Arch(IstftVocoder, IstftConfig, "istft-vocoder", 5e-4),
}


def _config_from(arch: Arch, values: dict[str, Any]):
    """A config from its saved dict (tuples come back from the checkpoint as lists)."""
    def tupled(v):
        return tuple(tupled(x) for x in v) if isinstance(v, list | tuple) else v
    return arch.config(**{k: tupled(v) for k, v in values.items()})


def build(name: str, config: dict[str, Any] | None = None) -> nn.Module:
    arch = ARCHES[name]
    return arch.build(_config_from(arch, config or {}))


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_id(name: str, model: nn.Module) -> str:
    digest = hashlib.sha1()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return f"{name}-{digest.hexdigest()[:10]}"


def save_checkpoint(path: Path, name: str, model: nn.Module, extra: dict[str, Any]) -> str:
    """Write the checkpoint (atomically, it is rewritten during training); returns its model id."""
    ident = model_id(name, model)
    state = {"arch": name, "config": dataclasses.asdict(model.config), "model_id": ident,
             "state_dict": model.state_dict(), **extra}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return ident


def load_checkpoint(path: Path) -> tuple[str, nn.Module, str]:
    """(arch name, model in eval mode, model id) of a checkpoint written by :func:`save_checkpoint`."""
    if not path.is_file():
        raise VocoderError(f"{path}: no such checkpoint (train one with python -m "
                           "voxwatch.training.generators.vocoders.train)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        name = state["arch"]
        model = build(name, state["config"])
        model.load_state_dict(state["state_dict"])
    except (pickle.UnpicklingError, KeyError, RuntimeError, TypeError, EOFError, ValueError) as exc:
        raise VocoderError(f"{path}: not a vocoder checkpoint ({type(exc).__name__})") from None
    model.eval()
    return name, model, state.get("model_id") or model_id(name, model)


def vocode(model: nn.Module, mel, audio: torch.Tensor) -> torch.Tensor:
    """(batch, samples) audio -> the model's resynthesis from its log-mel, at the same length."""
    n = audio.shape[-1]
    padded = nn.functional.pad(audio, (0, -n % mel.settings.hop))
    return model(mel(padded))[..., :n]
