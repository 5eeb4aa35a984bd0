"""``python -m voxwatch.training.verifier``: train one verifier candidate and export it with its card."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from voxwatch.errors import VoxwatchError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m voxwatch.training.verifier",
                                description="Train the cascade's verifier on the train split of one or more "
                                            "datasets, pick the best epoch on dev, export ONNX + card.")
    p.add_argument("--data", action="append", required=True, help="dataset folder (repeatable)")
    p.add_argument("--train-only", action="append", default=[], metavar="DIR",
                   help="dataset whose train split (rows with use=train) is trained on, and nothing else of it "
                        "(repeatable)")
    p.add_argument("--out", required=True, help="run folder (checkpoint, history, verifier.onnx + .json)")
    p.add_argument("--cache", default="", help="feature cache folder (default: OUT/cache)")
    p.add_argument("--filter-model", default="", help="the filter the gate is chosen for (default: bundled)")
    p.add_argument("--channels", default="24,48,64", help="residual block widths (default: %(default)s)")
    p.add_argument("--stem", type=int, default=16)
    p.add_argument("--bands", type=int, default=128, help="linear filterbank bands (default: %(default)s)")
    p.add_argument("--copies", type=int, default=2, help="feature copies per train clip, 0 clean (default: 2)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--crop", type=int, default=250, help="train crop in frames (default: %(default)s)")
    p.add_argument("--max-crop", type=int, default=0,
                   help="draw each batch's crop length from [--crop, this] frames (0: fixed --crop)")
    p.add_argument("--pool", choices=("meanstd", "meanmax"), default="meanstd",
                   help="pooling over time (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workers", type=int, default=2, help="feature extraction processes")
    p.add_argument("--max-steps", type=int, default=0, help="cap batches per epoch (smoke tests)")
    p.add_argument("--epoch-items", type=int, default=0, help="train items drawn per epoch (0: all)")
    p.add_argument("--real-weight", type=float, default=1.0, help="loss weight of real speech vs fake (1)")
    p.add_argument("--balance", choices=("class", "source"), default="class",
                   help="class: every item drawn alike, the loss balances the classes; source: items drawn so that "
                        "each class is half and a source's share grows with the square root of its size (default: "
                        "%(default)s)")
    p.add_argument("--ema", type=float, default=0.0, help="moving average of the weights per step (0: off)")
    p.add_argument("--budget", type=float, default=2.0,
                   help="the card threshold keeps the cascade within this many false alarms per hour of the dev "
                        "real speech (2)")
    p.add_argument("--gate-pass", type=float, default=0.98, help="share of fake dev clips the gate must pass")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-fusion", action="store_true",
                   help="decide with the network's score alone (default: fused with the filter's, fitted on dev)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from voxwatch.pipeline.stages.filter.features import FeatureSettings
    from voxwatch.pipeline.stages.verifier.features import VerifierFeatureSettings
    from voxwatch.training.datasets import summarize
    from voxwatch.training.model import n_parameters
    from voxwatch.training.verifier import data
    from voxwatch.training.verifier.export import export
    from voxwatch.training.verifier.model import VerifierNet
    from voxwatch.training.verifier.operating import operating_point
    from voxwatch.training.verifier.train import VerifierTrainSettings, train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache) if args.cache else out / "cache"
    features = VerifierFeatureSettings(spectrum=FeatureSettings(kind="linfbank", nfilt=args.bands, normalize="cmn"))
    train_clips, dev_clips = data.train_and_dev(args.data, args.train_only)
    train_set = data.build(train_clips, features, args.copies, args.seed, args.workers, cache, "train")
    dev_set = data.build(dev_clips, features, 1, args.seed, args.workers, cache, "dev")
    settings = VerifierTrainSettings(epochs=args.epochs, crop_frames=args.crop, max_crop_frames=args.max_crop,
                                     threads=args.threads,
                                     max_steps=args.max_steps, seed=args.seed, epoch_items=args.epoch_items,
                                     real_weight=args.real_weight, ema=args.ema, balance=args.balance)
    channels = tuple(int(c) for c in args.channels.split(","))
    net = VerifierNet(n_bands=features.n_features, stem=args.stem, channels=channels, pool=args.pool)
    sources = np.array([train_clips[i].source for i in train_set.clip])
    best, history = train(train_set, dev_set, net, settings, sources=sources)
    torch.save({"state_dict": best.state_dict(), "model_config": best.config, "features": features.to_dict(),
                "history": history}, out / "best.pt")
    (out / "history.json").write_text(json.dumps(history, indent=2) + "\n")
    training = {"data": " + ".join(args.data + [f"{d} (train split only)" for d in args.train_only]),
                "splits": summarize(train_clips + dev_clips),
                "model": best.config, "parameters": n_parameters(best), "train": asdict(settings),
                "copies": args.copies, "best_epoch": int(np.argmin([h["dev_eer"] for h in history])) + 1,
                "history": history}
    card = export(best, out / "verifier.onnx", features, dev_set, training,
                  lambda verifier: operating_point(verifier, dev_clips, args.filter_model or None, args.gate_pass,
                                                   args.budget, not args.no_fusion))
    print(json.dumps({"model_id": card.model_id, "gate": card.gate, "threshold": card.threshold,
                      **card.metrics["dev"]}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except VoxwatchError as exc:
        print(f"voxwatch: error: {exc}", file=sys.stderr)
        sys.exit(2)
