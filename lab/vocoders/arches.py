"""The architectures by name: their generator families, training loss and synthesis; the checkpoint format.

Each :class:`Arch` carries its own training loss and synthesis, so ``train``, ``twins`` and ``evaluate`` ask the
model's architecture (:func:`training_loss`, :func:`synthesize`) instead of each knowing them: the vocoders that map
a mel to a waveform in one pass learn from the spectral losses on their output (``vocode``), the diffusion vocoder
learns to predict noise and samples its output (seeded, so a twin is reproducible).

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
from typing import Any, Protocol

import torch
from torch import nn

from lab.data.build_data import unit
from lab.vocoders import diffwave
from lab.vocoders.hifigan import HifiGan, HifiGanConfig
from lab.vocoders.istft import IstftConfig, IstftVocoder
from lab.vocoders.losses import losses
from lab.vocoders.mel import LogMel


class VocoderError(RuntimeError):
    """A checkpoint or data set the vocoders cannot use (one line for the user)."""


class TrainingLoss(Protocol):
    """What an architecture's loss returns: the total to minimise and its terms by name (the card's curve)."""

    @property
    def total(self) -> torch.Tensor: ...

    def numbers(self) -> dict[str, float]: ...


def vocode(model: nn.Module, mel: LogMel, audio: torch.Tensor) -> torch.Tensor:
    """(batch, samples) audio -> the model's resynthesis from its log-mel, at the same length."""
    n = audio.shape[-1]
    padded = nn.functional.pad(audio, (0, -n % mel.settings.hop))
    return model(mel(padded))[..., :n]


def spectral_loss(model: nn.Module, mel: LogMel, audio: torch.Tensor) -> TrainingLoss:
    """Multi-resolution STFT + mel L1 of the one-pass resynthesis (``losses``)."""
    return losses(vocode(model, mel, audio), audio, mel)


def one_pass(model: nn.Module, mel: LogMel, audio: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The resynthesis of a deterministic vocoder: ``vocode`` (the seed has nothing to draw)."""
    return vocode(model, mel, audio)


@dataclass(frozen=True)
class Arch:
    build: type[nn.Module]
    config: type
    family: str  # the manifest's generator family of its twins
    learning_rate: float
    loss: Callable[[nn.Module, LogMel, torch.Tensor], TrainingLoss] = spectral_loss
    synthesize: Callable[[nn.Module, LogMel, torch.Tensor, int], torch.Tensor] = one_pass
    loss_name: str = "multi-resolution STFT + mel L1, no discriminator"  # what the card's curve records


ARCHES = {
    "hifigan": Arch(HifiGan, HifiGanConfig, "gan-vocoder", 5e-4),
    "istft": Arch(IstftVocoder, IstftConfig, "istft-vocoder", 5e-4),
    "diffwave": Arch(diffwave.DiffWave, diffwave.DiffWaveConfig, "diffusion", 1e-3, diffwave.loss,
                     diffwave.synthesize, "noise prediction: L2 between predicted and drawn noise at a random step"),
}


def arch_of(model: nn.Module) -> Arch:
    for arch in ARCHES.values():
        if isinstance(model, arch.build):
            return arch
    raise VocoderError(f"{type(model).__name__}: not a vocoder architecture of this package")


def training_loss(model: nn.Module, mel: LogMel, audio: torch.Tensor) -> TrainingLoss:
    """The loss ``model``'s architecture trains on, for a (batch, samples) tensor of real audio."""
    return arch_of(model).loss(model, mel, audio)


def synthesize(model: nn.Module, mel: LogMel, audio: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """(batch, samples) audio -> ``model``'s synthesis from its log-mel, at the same length; a sampling
    architecture draws from a generator seeded by ``seed`` (see :func:`seed_of`)."""
    return arch_of(model).synthesize(model, mel, audio, seed)


def seed_of(key: str) -> int:
    """A sampling seed from a stable key (a clip's path): the same clip is always sampled alike."""
    return int(unit(f"vocoder-sample:{key}") * (1 << 31))


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
                           "lab.vocoders.train)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        name = state["arch"]
        model = build(name, state["config"])
        model.load_state_dict(state["state_dict"])
    except (pickle.UnpicklingError, KeyError, RuntimeError, TypeError, EOFError, ValueError) as exc:
        raise VocoderError(f"{path}: not a vocoder checkpoint ({type(exc).__name__})") from None
    model.eval()
    return name, model, state.get("model_id") or model_id(name, model)
