"""``voxwatch train --data PATH --out DIR``: train a TinyCNN (needs the ``train`` extra)."""

from __future__ import annotations

import argparse

from voxwatch.commands.output_paths import OutputFolder

HELP = "train a TinyCNN detector on a labelled corpus (needs the train extra: torch)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from voxwatch.training.datasets import FORMATS

    parser.add_argument("--data", required=True, action="append", metavar="PATH",
                        help="dataset folder (layouts: docs/training.md); repeat to train on several sets together")
    parser.add_argument("--out", required=True, metavar="DIR", action=OutputFolder,
                        help="run folder: checkpoints, curves, history")
    parser.add_argument("--config", metavar="PATH", help="TOML config: its [features], [window], [vad] are used")
    parser.add_argument("--format", default="auto", choices=FORMATS, help="dataset layout (default: auto)")
    parser.add_argument("--epochs", type=int, default=15, help="maximum epochs (default 15)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for everything (default 0)")
    parser.add_argument("--patience", type=int, default=4, help="early stop after N epochs without dev gain")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle schedule)")
    parser.add_argument("--copies", type=int, default=4,
                        help="copies of each training clip: 1 clean + N-1 augmented (default 4)")
    parser.add_argument("--max-windows", type=int, default=4,
                        help="at most N windows per clip and copy, 0 = all (default 4)")
    parser.add_argument("--speed", type=float, default=0.0, metavar="P",
                        help="probability of a 0.88-1.12x speed change in an augmented copy (default 0)")
    parser.add_argument("--codec", type=float, default=0.0, metavar="P",
                        help="probability of a codec round trip (G.711, GSM, MP3, Vorbis, Opus) in an augmented copy")
    parser.add_argument("--eq", type=float, default=0.0, metavar="P",
                        help="probability of a random equaliser in an augmented copy (default 0)")
    parser.add_argument("--rawboost", type=float, default=0.0, metavar="P",
                        help="probability of RawBoost-style distortion in an augmented copy (default 0)")
    parser.add_argument("--telephone", type=float, default=0.0, metavar="P",
                        help="probability of a telephone call through a real codec (ffmpeg: 300-3400 Hz, G.711, "
                             "GSM, G.726, Codec2, Opus, Speex; some packet loss) in an augmented copy (default 0)")
    parser.add_argument("--no-augment", action="store_true", help="no augmentation (copies are then pointless)")
    parser.add_argument("--max-steps", type=int, default=0, help="batches per epoch cap (smoke tests)")
    parser.add_argument("--workers", type=int, default=0, help="feature extraction processes (0: CPU count)")
    parser.add_argument("--cache", metavar="DIR", action=OutputFolder, help="cache extracted feature windows here")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where to train (default cpu)")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout before the last layer (default 0.2)")
    parser.add_argument("--weight-decay", type=float, default=1e-3, help="AdamW weight decay (default 1e-3)")
    parser.add_argument("--freq-mask", type=int, default=8, help="widest masked band, coefficients (default 8)")
    parser.add_argument("--time-mask", type=int, default=30, help="longest masked span, frames (default 30)")
    parser.add_argument("--ema", type=float, default=0.998, help="weight moving-average decay (0: off)")
    parser.add_argument("--sam", type=float, default=0.0, metavar="RHO",
                        help="sharpness-aware minimisation with radius RHO, e.g. 0.05 (default 0: off; "
                             "twice the training time)")
    parser.add_argument("--balance", default="class", choices=("class", "source"),
                        help="loss weights: class (both classes equal) or source (also sources within a class, "
                             "by the square root of their size)")
    parser.add_argument("--loss", default="bce", choices=("bce", "ocsoftmax"),
                        help="bce: binary cross-entropy; ocsoftmax: one-class softmax (Zhang et al. 2021)")
    parser.add_argument("--arch", default="tinycnn", choices=("tinycnn", "sepcnn"),
                        help="tinycnn: plain 3x3 conv blocks; sepcnn: depthwise-separable blocks with "
                             "squeeze-excitation and attentive statistics pooling (docs/experiments.md)")
    parser.add_argument("--freq-stride", type=int, default=1, metavar="N",
                        help="tinycnn: the first convolution steps N filters at a time over frequency, so N times "
                             "the filters cost about the same (default 1)")
    parser.add_argument("--channels", help="conv widths, comma-separated (default 8,16,32,64 for tinycnn, "
                                           "16,32,64,128 for sepcnn)")
    parser.add_argument("--teacher", metavar="MODEL",
                        help="distil this ONNX model (with its card; an ensemble export teaches several models "
                             "at once) into the network: each window's target mixes its label with the "
                             "teacher's probability; the teacher must use the run's feature settings")
    parser.add_argument("--distill", type=float, default=0.5, metavar="W",
                        help="with --teacher: the teacher's weight in each target, 0-1 (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from voxwatch.commands.common import require_torch

    require_torch()
    from pathlib import Path

    from voxwatch.config import load_config
    from voxwatch.errors import VoxwatchError
    from voxwatch.training.augment import AugmentSettings
    from voxwatch.training.datasets import load_datasets
    from voxwatch.training.featureset import ExtractSettings
    from voxwatch.training.train import TrainSettings, train

    if args.epochs < 1 or args.copies < 1 or args.max_windows < 0:
        raise VoxwatchError("--epochs and --copies must be >= 1, --max-windows >= 0")
    if args.telephone and not args.no_augment:
        from voxwatch.training.telephone import ffmpeg_path

        ffmpeg_path()  # one error line now rather than a traceback from a feature worker later
    config = load_config(args.config).pipeline
    clips = load_datasets(args.data, args.format)
    extract_settings = ExtractSettings(
        features=config.features, window=config.window, vad=config.vad,
        augment=None if args.no_augment else AugmentSettings(p_speed=args.speed, p_codec=args.codec, p_eq=args.eq,
                                                             p_rawboost=args.rawboost, p_telephone=args.telephone),
        copies=1 if args.no_augment else args.copies,
        max_windows=args.max_windows, seed=args.seed,
    )
    widths = args.channels or ("16,32,64,128" if args.arch == "sepcnn" else "8,16,32,64")
    try:
        channels = tuple(int(c) for c in widths.split(","))
    except ValueError:
        raise VoxwatchError(f"--channels: expected comma-separated integers, not {widths!r}") from None
    if len(channels) < 2 or min(channels) < 1:
        raise VoxwatchError(f"--channels: expected at least two positive widths, not {widths!r}")
    if args.sam < 0:
        raise VoxwatchError("--sam must be >= 0")
    if args.freq_stride < 1 or (args.freq_stride != 1 and args.arch != "tinycnn"):
        raise VoxwatchError("--freq-stride must be >= 1 and is only built for --arch tinycnn")
    if args.arch != "tinycnn" and args.loss != "bce":
        raise VoxwatchError(f"--loss {args.loss} is only built for --arch tinycnn")
    teacher = None
    if args.teacher:
        from voxwatch.pipeline.stages.filter.session import OnnxClassifier

        if not 0.0 < args.distill <= 1.0:
            raise VoxwatchError("--distill must be within (0, 1]")
        if args.loss != "bce":
            raise VoxwatchError("--teacher is only built for --loss bce")
        teacher = OnnxClassifier(args.teacher, config.features, config.window.window_s)
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                             seed=args.seed, max_steps=args.max_steps, device=args.device, arch=args.arch,
                             channels=channels, freq_stride=args.freq_stride, ema=args.ema, dropout=args.dropout,
                             weight_decay=args.weight_decay,
                             freq_mask=args.freq_mask, time_mask=args.time_mask, loss=args.loss,
                             balance=args.balance, sam=args.sam, distill=args.distill if teacher else 0.0,
                             teacher=teacher.model_id if teacher else "")
    result = train(clips, Path(args.out), extract_settings, settings, data_desc=" + ".join(args.data),
                   cache_dir=Path(args.cache) if args.cache else None, workers=args.workers or None,
                   teacher=teacher)
    dev = result["dev"]
    print(f"best epoch {result['best_epoch']}: dev EER {100 * dev['eer']:.2f}% (AUC {dev['auc']:.4f}); "
          f"checkpoint {result['checkpoint']}")
    return 0
