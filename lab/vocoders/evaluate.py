"""Are the vocoders better than phase-less inversion? Their losses on held-out real clips next to Griffin-Lim's.

The clips are those a training card lists as held out (real ``train`` clips never seen in training). For each,
the log-mel (``mel.LogMel``) is inverted by each vocoder and by Griffin-Lim (least-squares inverse of the mel
filters, then fast Griffin-Lim: Perraudin et al., momentum 0.99), and the result is compared with the original by
the one-pass vocoders' training losses: multi-resolution STFT (spectral convergence + log magnitude) and mel L1.
Lower is better. Every architecture is judged by these same numbers on its synthesis (``arches.synthesize``), a
sampling one (``diffwave``) on its sample seeded by the clip's path, whatever loss it trained on.

    python -m lab.vocoders.evaluate --data ../data/hours \\
        --checkpoint ../data/vocoders/hifigan/checkpoint.pt --checkpoint ../data/vocoders/istft/checkpoint.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from lab.vocoders import segments as seg
from lab.vocoders.arches import VocoderError, load_checkpoint, seed_of, synthesize
from lab.vocoders.losses import losses
from lab.vocoders.mel import LogMel
from voxwatch.pipeline.samplerate import SAMPLE_RATE

GRIFFIN_LIM_ITERATIONS = 64
MOMENTUM = 0.99


def griffin_lim(mel: LogMel, log_mel: torch.Tensor, length: int,
                iterations: int = GRIFFIN_LIM_ITERATIONS) -> torch.Tensor:
    """(batch, bands, frames) log-mel -> (batch, length) audio by fast Griffin-Lim, no learned part."""
    s = mel.settings
    magnitude = torch.clamp(torch.linalg.pinv(mel.filters) @ torch.exp(log_mel), min=0.0)
    generator = torch.Generator().manual_seed(0)
    angles = torch.polar(torch.ones_like(magnitude), 2 * torch.pi * torch.rand(magnitude.shape, generator=generator))
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        audio = torch.istft(magnitude * angles, s.n_fft, s.hop, window=mel.window, center=True, length=length)
        rebuilt = torch.stft(audio, s.n_fft, s.hop, window=mel.window, center=True, return_complex=True)
        accelerated = rebuilt - MOMENTUM / (1 + MOMENTUM) * previous
        angles = accelerated / torch.clamp(accelerated.abs(), min=1e-8)
        previous = rebuilt
    return torch.istft(magnitude * angles, s.n_fft, s.hop, window=mel.window, center=True, length=length)


def evaluate(data: Path, checkpoints: list[Path], count: int | None = None) -> dict[str, dict[str, float]]:
    """Mean losses per vocoder (by model id) and of Griffin-Lim over the first checkpoint's held-out clips."""
    loaded = [load_checkpoint(path) for path in checkpoints]
    card = torch.load(checkpoints[0], map_location="cpu", weights_only=True).get("card", {})
    paths = card.get("held_out") or [r["path"] for r in seg.held_out(seg.real_train_rows(seg.read_manifest(data)),
                                                                      20)]
    paths = paths[:count] if count else paths
    mel = LogMel()
    import soundfile as sf

    results: dict[str, list[tuple[float, float]]] = {ident: [] for _, _, ident in loaded}
    results["griffin-lim"] = []
    with torch.no_grad():
        for path in paths:
            audio, rate = sf.read(data / path, dtype="float32", always_2d=True)
            if rate != SAMPLE_RATE:
                raise VocoderError(f"{path}: {rate} Hz, the builder writes {SAMPLE_RATE}")
            x = torch.from_numpy(audio.mean(axis=1))[None]
            for _, model, ident in loaded:
                found = losses(synthesize(model, mel, x, seed_of(path)), x, mel)
                results[ident].append((found.stft.item(), found.mel.item()))
            found = losses(griffin_lim(mel, mel(x), x.shape[-1]), x, mel)
            results["griffin-lim"].append((found.stft.item(), found.mel.item()))
    return {name: {"clips": len(v), "stft": round(float(np.mean([a for a, _ in v])), 4),
                   "mel_l1": round(float(np.mean([b for _, b in v])), 4)} for name, v in results.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.vocoders.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the set the vocoders were trained on")
    parser.add_argument("--checkpoint", type=Path, action="append", required=True, help="repeat for each vocoder")
    parser.add_argument("--clips", type=int, default=None, help="at most this many held-out clips")
    parser.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        table = evaluate(args.data, args.checkpoint, args.clips)
    except (VocoderError, FileNotFoundError) as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        return 2
    for name, row in table.items():
        print(f"{name:24s} clips {row['clips']:3d}  multi-res STFT {row['stft']:.4f}  mel L1 {row['mel_l1']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
